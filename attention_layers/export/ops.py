"""`python -m attention_layers ops RUN_OR_EXPORT`: the ops an export needs, by library.

A server can run a SavedModel only if every op in its graph is registered in it: a stock
`tensorflow_model_server` has TensorFlow's own ops, and our exports also use TF Text's
tokenizer and normalization ops (`NormalizeUTF8`, `WordpieceTokenizeWithOffsets`, ...),
which a server without them rejects when it loads the model ("Op type not registered").
This command reads every op type of the export's graph, the functions of its library
included, and names the library that registers each one:

    $ python -m attention_layers ops runs/translator-builtin
    Ops of runs/translator-builtin/serving/1 (version 1): 93 types
      library          op type                        nodes
      tensorflow       Add                                3
      ...
      tensorflow_text  NormalizeUTF8                      4
    TensorFlow: 88 op types, TF Text: 5. A server must register all of them (...).

The library is read from TensorFlow's op registry: the ops registered once `tensorflow`
is imported are TensorFlow's, those registered only after `import tensorflow_text` are TF
Text's, and any other op is `unknown` (exit code 1: no server we know of has it).
"""

import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys

TENSORFLOW = "tensorflow"
TF_TEXT = "tensorflow_text"
UNKNOWN = "unknown"


def graph_ops(path):
    """`{op type: number of nodes}` in the SavedModel at `path`, its function library
    included (calls to the library's own functions are not ops).

    Args:
        path: a SavedModel folder (with `saved_model.pb`).
    """
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((pathlib.Path(path) / "saved_model.pb").read_bytes())
    counts = collections.Counter()
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        functions = {function.signature.name for function in graph.library.function}
        nodes = list(graph.node)
        for function in graph.library.function:
            nodes.extend(function.node_def)
        counts.update(node.op for node in nodes if node.op not in functions)
    return dict(sorted(counts.items()))


# Run in a fresh Python: the op names that `import tensorflow` registers, then those that
# `import tensorflow_text` adds. (This process cannot tell: importing this package has
# already imported TF Text.)
_REGISTRY_SCRIPT = """
import json
import tensorflow
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session


def registered():
    ops = op_def_pb2.OpList()
    ops.ParseFromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
    return {op.name for op in ops.op}


core = registered()
import tensorflow_text
print(json.dumps({"tensorflow": sorted(core), "tensorflow_text": sorted(registered() - core)}))
"""


def op_libraries():
    """`{library: set of op names}` for TensorFlow and TF Text, from the op registry.

    TF Text's ops are those that `import tensorflow_text` adds to the registry; the
    registry is read in a fresh Python process (a few seconds), which has imported
    nothing else.
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    completed = subprocess.run(
        [sys.executable, "-c", _REGISTRY_SCRIPT], env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    libraries = json.loads(completed.stdout.strip().splitlines()[-1])
    return {library: set(names) for library, names in libraries.items()}


def classify_ops(ops, libraries=None):
    """`{op type: library}` for `ops` (names), with `libraries` from `op_libraries()`."""
    libraries = op_libraries() if libraries is None else libraries
    found = {}
    for op in ops:
        found[op] = next((name for name, names in libraries.items() if op in names), UNKNOWN)
    return found


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"ops: error: {message} (see --help)\n")


def main(argv=None):
    """Prints the export's ops and their libraries; exit code 0, 1 if an op is unknown,
    2 for a bad command line."""
    parser = _Parser(
        prog="python -m attention_layers ops",
        description="List the op types an export's graph uses and the library that "
        "registers each one (TensorFlow or TF Text).",
    )
    parser.add_argument("path", metavar="RUN_OR_EXPORT",
                        help="a run folder, a serving/ base folder or a SavedModel folder")
    parser.add_argument("--json", action="store_true",
                        help='print {"op type": "library"} as JSON instead of a table')
    args = parser.parse_args(argv)
    from attention_layers.export.saving import find_export

    try:
        version, path = find_export(args.path)
    except FileNotFoundError as error:
        parser.error(str(error))
    counts = graph_ops(path)
    libraries = classify_ops(counts)
    if args.json:
        print(json.dumps(libraries, indent=2))
    else:
        print(f"Ops of {path} (version {version}): {len(counts)} types")
        print(f"  {'library':<16} {'op type':<40} {'nodes':>5}")
        for op, library in sorted(libraries.items(), key=lambda item: (item[1], item[0])):
            print(f"  {library:<16} {op:<40} {counts[op]:>5}")
        totals = collections.Counter(libraries.values())
        print(
            f"TensorFlow: {totals[TENSORFLOW]} op types, TF Text: {totals[TF_TEXT]}"
            + (f", unknown: {totals[UNKNOWN]}" if totals[UNKNOWN] else "")
            + ". A server must register all of them (see docs/serving.md)."
        )
    return 1 if UNKNOWN in libraries.values() else 0


if __name__ == "__main__":
    sys.exit(main())
