"""A quiet start, set up before anything imports TensorFlow.

`attention_layers/__init__.py` imports Keras (and so TensorFlow) inside `quiet_start()`.
What it does depends on `ATTENTION_LAYERS_QUIET_START`:

- unset (a user's program, a notebook, the tests): TensorFlow's start-up lines are dropped
  from standard error while the package imports Keras and TensorFlow looks for devices
  (`tf.config.list_physical_devices`, which writes the `cuInit` line on a machine
  without a GPU); then standard error is the process's own again, and TensorFlow's
  logging keeps its defaults for the rest of the program;
- `1` (`train_translator.py` and `train_classifier.py` set it; `python -m attention_layers`
  and `python -m attention_layers.<module>` ask for the same, since Python imports the
  package before that module can set anything): the start-up lines are dropped for the
  whole run, and TensorFlow's C++ logging defaults to warnings and errors
  (`TF_CPP_MIN_LOG_LEVEL=2`); the objects the imports made are frozen for the garbage
  collector (`freeze_imported_objects`);
- `0` (or `false`, `no`, `off`): nothing changes; TensorFlow logs as it does by default.
"""

import contextlib
import gc
import importlib.util
import os
import sys

QUIET_START = "ATTENTION_LAYERS_QUIET_START"
GC_FREEZE = "ATTENTION_LAYERS_GC_FREEZE"
_OFF = ("0", "false", "no", "off")


def _run_as_our_module(argv):
    """Whether `argv` (the interpreter's own) is `python ... -m attention_layers[.<module>]`."""
    for position, argument in enumerate(argv[1:], start=1):
        if argument == "-m":
            module = argv[position + 1] if position + 1 < len(argv) else ""
            return module == "attention_layers" or module.startswith("attention_layers.")
        if argument == "-c" or not argument.startswith("-"):
            return False  # a program or a script: what follows is its own arguments
    return False


def _console():
    # Loaded from its file: importing `attention_layers.utils` first would be harmless
    # today, but this module must not depend on what a package's `__init__` imports.
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "utils", "console.py")
    spec = importlib.util.spec_from_file_location("attention_layers._start_up_console", path)
    console = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(console)
    return console


def _look_for_devices():
    # Where TensorFlow writes its `cuInit` line; `tf.config.set_visible_devices` and
    # `set_memory_growth` still work afterwards (no device is initialized).
    tensorflow = sys.modules.get("tensorflow")
    config = getattr(tensorflow, "config", None)
    if config is not None:
        config.list_physical_devices()


# The Keras backends the commands train on: KERAS_BACKEND names the module it imports.
COMMAND_BACKENDS = ("tensorflow", "jax", "torch")


def exit_unless_backend_installed(environ=os.environ):
    """A command's check of `KERAS_BACKEND`, before Keras imports it: a name that is not
    a backend, or one whose package is not installed, ends the command with one line and
    exit code 2 (Keras would raise a traceback from deep inside its import)."""
    backend = environ.get("KERAS_BACKEND")
    if backend is None:
        return
    if backend not in COMMAND_BACKENDS:
        problem = (f"KERAS_BACKEND={backend!r} is not a backend these commands run on; use "
                   f"{', '.join(COMMAND_BACKENDS)}, or unset it (tensorflow)")
    elif importlib.util.find_spec(backend) is None:
        problem = (f"KERAS_BACKEND={backend}, but {backend} is not installed; install it "
                   f"(pip install {backend}) or unset KERAS_BACKEND (tensorflow)")
    else:
        return
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] != "-m" else ""
    sys.stderr.write(f"{program or 'attention_layers'}: error: {problem}\n")
    raise SystemExit(2)


def freeze_imported_objects(environ=os.environ):
    """A command's process keeps what Keras and TensorFlow imported until it exits: move
    those objects out of the garbage collector's sight (`gc.freeze()`), so that the
    collections during the run, and the one when the interpreter exits, no longer walk
    them. Keras' import of TensorFlow leaves about 440,000 tracked objects; freezing them took
    1.1 CPU seconds, 8%, off a tiny training run (`benchmarks/gc_freeze.py`;
    benchmarks/RESULTS.md, "CI time: the garbage collector, and the machine").
    Only the commands do this, never `import attention_layers` in a user's program.
    `ATTENTION_LAYERS_GC_FREEZE=0` leaves the collector as Python sets it."""
    if environ.get(GC_FREEZE, "").strip().lower() not in _OFF:
        gc.freeze()


@contextlib.contextmanager
def quiet_start(environ=os.environ, argv=None):
    """The package's imports run inside this block (see the module docstring).

    Args:
        environ: where `ATTENTION_LAYERS_QUIET_START` is read (and `TF_CPP_MIN_LOG_LEVEL`
            set for a command).
        argv: the interpreter's arguments; default `sys.orig_argv`.
    """
    argv = getattr(sys, "orig_argv", []) if argv is None else argv
    setting = environ.get(QUIET_START, "").strip().lower()
    if setting in _OFF:
        yield
    elif setting == "1" or _run_as_our_module(argv):
        exit_unless_backend_installed(environ)
        environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _console().drop_start_up_noise()
        yield
        freeze_imported_objects(environ)
    else:
        with _console().start_up_noise_dropped():
            yield
            _look_for_devices()
