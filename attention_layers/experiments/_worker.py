"""Runs one measurement in a fresh process: `python -m attention_layers.experiments._worker SPEC`.

`SPEC` is JSON `{"target": "module:function", "kwargs": {...}}`; the function's result is
printed as one JSON line after `RESULT `. See `harness.run_in_subprocess`.
"""

import importlib
import json
import sys

from attention_layers.experiments.harness import _RESULT_PREFIX, _to_builtin


def main(spec):
    spec = json.loads(spec)
    module_name, function_name = spec["target"].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**spec["kwargs"])
    print(_RESULT_PREFIX + json.dumps(result, default=_to_builtin), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
