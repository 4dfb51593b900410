"""The commands' console (issue 15): TensorFlow's start-up lines dropped and nothing else,
datasets of a known number of batches, one line per epoch off a terminal."""

import subprocess
import sys

import numpy as np
import tensorflow as tf

from attention_layers.data import DatasetSplits, known_steps
from attention_layers.utils import console
from tests.helpers import ROOT

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1 1 port.cc:153] oneDNN custom operations are on. You may see ...",
    "I0000 00:00:1 1 cudart_stub.cc:31] Could not find cuda drivers on your machine, ...",
    "E0000 00:00:1 1 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
]


def test_start_up_noise_is_dropped_and_everything_else_is_kept():
    script = (
        "import importlib.util, os, sys\n"
        "spec = importlib.util.spec_from_file_location('c', sys.argv[1])\n"
        "console = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(console)\n"
        "console.drop_start_up_noise()\n"
        "for line in sys.argv[2:]:\n"
        "    os.write(2, (line + '\\n').encode())\n"
        "print('a real warning', file=sys.stderr)\n"
        "raise SystemExit('error: a real error')\n"
    )
    kept = ["E0000 util.cc:1] a real error from TensorFlow", "Traceback (most recent call last):"]
    result = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "attention_layers/utils/console.py"),
         *NOISE, *kept],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [*kept, "a real warning", "error: a real error"]


def test_known_steps_counts_the_batches_of_a_bucketed_dataset():
    lengths = np.random.default_rng(0).integers(1, 20, size=100)
    rows = tf.ragged.constant([[1] * int(length) for length in lengths])
    bucketed = tf.data.Dataset.from_tensor_slices(rows).map(lambda row: row).shuffle(100, seed=0)
    bucketed = bucketed.bucket_by_sequence_length(
        lambda row: tf.shape(row)[0], bucket_boundaries=[5, 10], bucket_batch_sizes=[8, 8, 8]
    )
    assert bucketed.cardinality() == tf.data.UNKNOWN_CARDINALITY
    counted = known_steps(DatasetSplits(bucketed, bucketed, bucketed))
    expected = sum(-(-int(np.sum(in_bucket)) // 8) for in_bucket in (
        lengths < 5, (lengths >= 5) & (lengths < 10), lengths >= 10))
    assert int(counted.train.cardinality()) == expected
    assert len(list(counted.train)) == expected  # the same every epoch, whatever the order


def test_our_modules_run_with_python_m_start_quietly():
    from attention_layers import _start_up

    for argv, quiet in [
        (["python", "-m", "attention_layers.experiments", "long-range"], True),
        (["python", "-m", "attention_layers", "serve", "runs/classifier"], True),
        (["python", "-m", "attention_layers_of_someone_else"], False),
        (["python", "-u", "-m", "attention_layers.training.runner", "export", "run"], True),
        (["python", "-m", "pytest", "-m", "attention_layers.x"], False),
        (["python", "-c", "code", "-m", "attention_layers.experiments"], False),
        (["python", "script.py", "-m", "attention_layers.experiments"], False),
        (["python", "-m"], False),
    ]:
        assert _start_up._run_as_our_module(argv) is quiet, argv
    # And end to end: the claims lab's help, without TensorFlow's start-up lines.
    result = subprocess.run(
        [sys.executable, "-m", "attention_layers.experiments", "--help"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0 and "long-range" in result.stdout
    assert not [line for line in result.stderr.splitlines() if console.START_UP_NOISE.search(line)]
