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


def _start_quietly():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Loaded from its file: importing `attention_layers.training` would import Keras first.
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "training", "console.py")
    spec = importlib.util.spec_from_file_location("attention_layers._start_up_console", path)
    console = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(console)
    console.drop_start_up_noise()


if os.environ.get(QUIET_START) == "1" or _run_as_our_module(getattr(sys, "orig_argv", [])):
    _start_quietly()
