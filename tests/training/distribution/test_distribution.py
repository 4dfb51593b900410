"""Data parallelism: 2 devices at the same global batch take the same steps as 1 device.

Logical CPU devices (TensorFlow) and host devices (JAX) must be set up before the runtime
starts, so each backend trains in a process of its own (`tests/training/distribution/tiny_run.py`):
first on 2 devices, then, in the same process, the same model on one device (with no
distribution; each run records on how many devices its variables live).
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
    """`(run under flags, the same run on one device)`, both trained in one process."""
    output, one_device = tmp_path / f"{backend}.npz", tmp_path / f"{backend}_one_device.npz"
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",  # the comparison is between CPU devices
    }
    completed = subprocess.run(
        [sys.executable, "-m", "tests.training.distribution.tiny_run", str(output), *flags,
         "--then-one-device", str(one_device)],
        # A hang guard for two short trainings, not a speed limit (a busy 2-core machine).
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return np.load(output), np.load(one_device)


def assert_same_training(single, parallel):
    assert int(single["replicas"]) == 1 and int(parallel["replicas"]) == 2
    assert int(single["devices"]) == 1 and int(parallel["devices"]) == 2
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
    parallel, single = tiny_run(tmp_path, backend, "--distribution", "mirrored", "--replicas", "2")
    assert str(parallel["description"]).startswith(expected)
    assert_same_training(single, parallel)
