"""Data parallelism: 2 devices at the same global batch take the same steps as 1 device.

Logical CPU devices (TensorFlow) and host devices (JAX) must be set up before the runtime
starts, so every configuration trains in its own process (`tests/training/distribution/tiny_run.py`).
Tolerance: after 12 Adam steps the losses agree to a relative 1e-5 and every weight to
an absolute 1e-4 (summing gradients over two replicas changes the order of float32
additions; a wrong batch split moves the weights by more than 1e-2).
"""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def tiny_run(tmp_path, backend, *flags):
    output = tmp_path / f"{backend}{'_'.join(flags).replace('-', '')}.npz"
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",  # the comparison is between CPU devices
    }
    completed = subprocess.run(
        [sys.executable, "-m", "tests.training.distribution.tiny_run", str(output), *flags],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return np.load(output)


def assert_same_training(single, parallel):
    assert int(single["replicas"]) == 1 and int(parallel["replicas"]) == 2
    np.testing.assert_allclose(parallel["loss"], single["loss"], rtol=1e-5)
    assert single["loss"][-1] < single["loss"][0] - 0.1  # it trained: the check can fail
    names = [name for name in single.files if name.startswith("w")]
    assert len(names) > 10 and sorted(names) == sorted(n for n in parallel.files if n[0] == "w")
    for name in names:
        np.testing.assert_allclose(parallel[name], single[name], atol=1e-4, err_msg=name)


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("tensorflow", "MirroredStrategy over 2 logical CPU devices"),
        ("jax", "keras.distribution.DataParallel over 2 host CPU devices"),
    ],
)
def test_two_replicas_match_one_device(tmp_path, backend, expected):
    single = tiny_run(tmp_path, backend, "--distribution", "none")
    parallel = tiny_run(tmp_path, backend, "--distribution", "mirrored", "--replicas", "2")
    assert str(parallel["description"]).startswith(expected)
    assert_same_training(single, parallel)
