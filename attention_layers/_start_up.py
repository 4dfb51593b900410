"""A quiet start for the commands, run before anything imports TensorFlow.

`train_translator.py` and `train_classifier.py` set `ATTENTION_LAYERS_QUIET_START=1` before
they import the package; `python -m attention_layers.<module>` (the claims lab, its workers,
the export subprocess) asks for the same, since Python imports the package before that module
can set anything. `attention_layers/__init__.py` imports this module first, so that
TensorFlow's start-up lines (written while Keras imports it) are dropped and its C++ logging
defaults to warnings and errors (`TF_CPP_MIN_LOG_LEVEL=2`). Otherwise (`import
attention_layers` in a user's program or a notebook) importing the package changes nothing.
"""

import importlib.util
import os
import sys

QUIET_START = "ATTENTION_LAYERS_QUIET_START"


def _run_as_our_module(argv):
    """Whether `argv` (the interpreter's own) is `python ... -m attention_layers.<module>`."""
    for position, argument in enumerate(argv[1:], start=1):
        if argument == "-m":
            module = argv[position + 1] if position + 1 < len(argv) else ""
            return module.startswith("attention_layers.")
        if argument == "-c" or not argument.startswith("-"):
            return False  # a program or a script: what follows is its own arguments
    return False


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


def _start_quietly():
    exit_unless_backend_installed()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Loaded from its file: importing `attention_layers.training` would import Keras first.
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "training", "console.py")
    spec = importlib.util.spec_from_file_location("attention_layers._start_up_console", path)
    console = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(console)
    console.drop_start_up_noise()


if os.environ.get(QUIET_START) == "1" or _run_as_our_module(getattr(sys, "orig_argv", [])):
    _start_quietly()
