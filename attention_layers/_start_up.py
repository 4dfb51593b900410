"""A quiet start for the training commands, run before anything imports TensorFlow.

`train_translator.py` and `train_classifier.py` set `ATTENTION_LAYERS_QUIET_START=1` before
they import the package; `attention_layers/__init__.py` imports this module first, so that
TensorFlow's start-up lines (written while Keras imports it) are dropped and its C++ logging
defaults to warnings and errors (`TF_CPP_MIN_LOG_LEVEL=2`). Without the variable, importing
the package changes nothing.
"""

import importlib.util
import os

QUIET_START = "ATTENTION_LAYERS_QUIET_START"


def _start_quietly():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Loaded from its file: importing `attention_layers.training` would import Keras first.
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "training", "console.py")
    spec = importlib.util.spec_from_file_location("attention_layers._start_up_console", path)
    console = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(console)
    console.drop_start_up_noise()


if os.environ.get(QUIET_START) == "1":
    _start_quietly()
