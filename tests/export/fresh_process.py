"""Loads SavedModels and runs their signatures with only tensorflow and tensorflow_text.

Run by the tests as `python -I fresh_process.py REQUEST RESULT` from a scratch directory:
`-I` ignores `PYTHONPATH` and leaves the script's directory off `sys.path`, and an import
hook refuses `attention_layers`, so nothing of the project can be used. This file imports
nothing from the project either.

REQUEST (JSON): `{"calls": [{"path": ..., "signature": ..., "text": [base64 bytes, ...],
"beam_width": int (optional)}, ...]}`. RESULT (JSON): `{"results": [{"outputs": {name:
{"dtype", "shape", "values"}}, "seconds"} or {"error": message}, ...], "modules": {...}}`;
strings come back decoded from UTF-8 (an invalid one is reported as an error).
"""

import base64
import importlib.abc
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _RefuseProject(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "attention_layers" or name.startswith("attention_layers."):
            raise ImportError(f"{name} must not be needed to serve an export")
        return None


sys.meta_path.insert(0, _RefuseProject())

import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402, F401  (registers the text ops the graphs use)


def _to_json(tensor):
    array = tensor.numpy()
    if tensor.dtype == tf.string:
        values = [value.decode("utf-8") for value in array.reshape(-1)]
        values = _reshape(values, array.shape)
    else:
        values = array.tolist()
    return {"dtype": tensor.dtype.name, "shape": list(array.shape), "values": values}


def _reshape(flat, shape):
    if len(shape) <= 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [_reshape(flat[row * step : (row + 1) * step], shape[1:]) for row in range(shape[0])]


def main(request_path, result_path):
    with open(request_path, encoding="utf-8") as file:
        request = json.load(file)
    loaded = {}
    results = []
    for call in request["calls"]:
        try:
            if call["path"] not in loaded:
                loaded[call["path"]] = tf.saved_model.load(call["path"])
            function = loaded[call["path"]].signatures[call["signature"]]
            texts = [base64.b64decode(text) for text in call["text"]]
            inputs = {"text": tf.constant(texts, dtype=tf.string, shape=[len(texts)])}
            if "beam_width" in call:
                inputs["beam_width"] = tf.constant(call["beam_width"], tf.int32)
            start = time.perf_counter()
            outputs = function(**inputs)
            seconds = time.perf_counter() - start
            results.append(
                {
                    "outputs": {name: _to_json(value) for name, value in outputs.items()},
                    "seconds": seconds,
                }
            )
        except Exception as error:  # reported to the test, which fails with the message
            results.append({"error": f"{type(error).__name__}: {error}"})
    modules = {
        "attention_layers": any(name.split(".")[0] == "attention_layers" for name in sys.modules),
        "sys_path": sys.path,
    }
    with open(result_path, "w", encoding="utf-8") as file:
        json.dump({"results": results, "modules": modules}, file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
