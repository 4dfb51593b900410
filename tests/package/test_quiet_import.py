"""`import attention_layers` in a user's program prints none of TensorFlow's start-up lines,
hides nothing else, and leaves standard error and TensorFlow's logging as they were
(issue 28); `ATTENTION_LAYERS_QUIET_START=0` shows TensorFlow's lines as it writes them.
Our commands' start also freezes what the import made for the garbage collector; a user's
program is left as it was (issue 29)."""

import gc
import os
import subprocess
import sys

import pytest

from attention_layers._start_up import GC_FREEZE, QUIET_START, freeze_imported_objects
from attention_layers.utils.console import START_UP_NOISE

# A user's program: lines of its own around the import, TensorFlow's first op (where it
# looks for a GPU), then a progress line without a newline and an error written straight
# to descriptor 2 just before the process ends at once: a filter left in place could lose
# them with its thread.
PROGRAM = """
import gc, os, sys
print("before the import", file=sys.stderr, flush=True)
import attention_layers
import tensorflow as tf
tf.constant(1.0) + 1.0
print("after the import", file=sys.stderr, flush=True)
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"), gc.get_freeze_count(), flush=True)
sys.stderr.write("progress 50%\\r")
sys.stderr.flush()
os.write(2, b"E0000 a real error\\n")
os._exit(3)
"""


def run_program(tmp_path, **environ):
    env = {key: value for key, value in os.environ.items()
           if key not in (QUIET_START, "TF_CPP_MIN_LOG_LEVEL")}
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, timeout=300, cwd=tmp_path,
        env={**env, **environ},
    )  # bytes: text mode would turn the "\r" into a newline
    assert result.returncode == 3, result.stderr
    return result


@pytest.mark.slow
def test_importing_the_package_drops_tensorflows_start_up_lines_and_nothing_else(tmp_path):
    shown = run_program(tmp_path, **{QUIET_START: "0"})
    quiet = run_program(tmp_path)

    shown_lines = shown.stderr.decode().splitlines(keepends=True)
    quiet_lines = quiet.stderr.decode().splitlines(keepends=True)
    noise = [line for line in shown_lines if START_UP_NOISE.search(line)]
    assert noise, f"TensorFlow wrote no start-up line here; nothing was tested:\n{shown.stderr}"
    assert not [line for line in quiet_lines if START_UP_NOISE.search(line)]
    # Every other line, in order, the unfinished one included.
    assert quiet_lines == [line for line in shown_lines if not START_UP_NOISE.search(line)]
    assert quiet_lines[0] == "before the import\n"
    assert quiet_lines[-3:] == ["after the import\n", "progress 50%\r", "E0000 a real error\n"]
    # TensorFlow's logging level is left as it was (the quiet start sets none), and a
    # user's program keeps Python's garbage collector as it is: nothing frozen.
    assert shown.stdout == quiet.stdout and quiet.stdout.split()[1] == b"0"


@pytest.mark.slow
def test_a_command_freezes_what_its_imports_made(tmp_path):
    """Our commands' start (`ATTENTION_LAYERS_QUIET_START=1`) freezes the objects Keras'
    import of TensorFlow made (about 440,000); `ATTENTION_LAYERS_GC_FREEZE=0` does not."""
    level, frozen = run_program(tmp_path, **{QUIET_START: "1"}).stdout.split()
    assert level == b"2" and int(frozen) > 100_000
    _, frozen = run_program(tmp_path, **{QUIET_START: "1", GC_FREEZE: "0"}).stdout.split()
    assert int(frozen) == 0


def test_freezing_moves_every_tracked_object_out_of_the_collectors_sight():
    gc.unfreeze()  # this worker froze what collection imported (tests/conftest.py)
    try:
        freeze_imported_objects({GC_FREEZE: "off"})
        assert gc.get_freeze_count() == 0
        tracked = len(gc.get_objects())
        freeze_imported_objects({})
        assert gc.get_freeze_count() >= tracked - 1_000 and len(gc.get_objects()) < 1_000
    finally:
        gc.freeze()
