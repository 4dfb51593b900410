"""TensorFlow's start-up lines, dropped from standard error (standard library only).

TensorFlow's C++ logging writes to file descriptor 2 while TensorFlow is imported and when
it first looks for GPUs, before `TF_CPP_MIN_LOG_LEVEL` could be read from Python: absl's
pre-initialization notice, the oneDNN and CPU-instruction notes, "Could not find cuda
drivers", `cuInit` failures on a machine without a GPU. To drop them, the descriptor itself
is routed through a thread that forwards every line except those matching
`START_UP_NOISE`; tracebacks, warnings and real errors pass.

- `start_up_noise_dropped()`: for the `with` block only (what `import attention_layers`
  does in a user's program, `attention_layers/_start_up.py`); afterwards descriptor 2 is
  the process's own again, so nothing written later passes through a filter;
- `drop_start_up_noise()`: until the process exits (the training commands).

`attention_layers/_start_up.py` loads this module from its file before anything imports
Keras, so it imports the standard library only.
"""

import atexit
import contextlib
import os
import re
import sys
import threading

# Lines that TensorFlow and XLA write while starting, whatever the machine: informational,
# or a missing GPU reported as an error. Real errors do not match them.
START_UP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations|"
    r"cudart_stub\.cc|cuda_platform\.cc.*cuInit|cuda_executor|cpu_feature_guard\.cc|"
    r"To enable the following instructions|rebuild TensorFlow with the appropriate compiler|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|"
    r"TF-TRT Warning|This TensorFlow binary is optimized|"
    r"failed call to cuInit|Could not find cuda drivers|"
    r"oneDNN supports DT_[A-Z0-9]+ only on platforms with AVX-512"
)
# How long the end of a filter waits for the thread to forward the last lines.
_JOIN_SECONDS = 10


def _filter_stderr():
    """Routes descriptor 2 through the filter; returns the function that ends it, or None
    when descriptor 2 cannot be routed (closed, or no pipes on this platform)."""
    try:
        sys.stderr.flush()
        real = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return None
    read_end, write_end = os.pipe()
    ours = os.fstat(write_end)
    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(target=_forward, args=(read_end, real), daemon=True)
    thread.start()

    def restore():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.flush()
        try:
            current = os.fstat(2)
            still_ours = (current.st_dev, current.st_ino) == (ours.st_dev, ours.st_ino)
        except OSError:
            still_ours = False
        if still_ours:
            os.dup2(real, 2)  # closes the pipe's write end: the thread reads to its end
        # Else something replaced descriptor 2 since (pytest's capture, for one) and the
        # pipe is closed already; that owner restores its own.
        thread.join(timeout=_JOIN_SECONDS)
        os.close(real)

    return restore


def _forward(read_end, real):
    with os.fdopen(read_end, "rb") as lines:
        for line in lines:
            if not START_UP_NOISE.search(line.decode("utf-8", "replace")):
                os.write(real, line)


def drop_start_up_noise():
    """From now on, drops TensorFlow's start-up lines from this process's standard error.

    Call it before importing Keras or TensorFlow. At exit the descriptor is restored and
    the last lines forwarded. Lines written just before a crash that ends the process at
    once (a segmentation fault, `os._exit`) may not be forwarded: for a program that is
    not one of our commands, prefer `start_up_noise_dropped()` around its imports.
    """
    restore = _filter_stderr()
    if restore is not None:
        atexit.register(restore)


@contextlib.contextmanager
def start_up_noise_dropped():
    """Drops TensorFlow's start-up lines from standard error inside the `with` block.

    On leaving the block (also by an exception), standard error is the process's own
    again and every line written inside the block that is not start-up noise has been
    forwarded, in order.

    Example:

    >>> with start_up_noise_dropped():
    ...     import tensorflow as tf
    ...     devices = tf.config.list_physical_devices()
    """
    restore = _filter_stderr()
    try:
        yield
    finally:
        if restore is not None:
            restore()
