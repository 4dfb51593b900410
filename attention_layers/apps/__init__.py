"""Applications over a finished run: loading it to translate or classify (`load_run`), a
local server with TensorFlow Serving's REST API, and a Gradio demo that shows attention.

This floor sits above `export/` and beside `training/`: it reads a run folder or an
export, never the training code.
"""
