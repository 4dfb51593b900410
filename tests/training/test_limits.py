"""Size limits for attention_layers/training/ (issue 27), checked from the source text.

No file there is over 450 lines and no function or method over 60 lines, counted
from its ``def`` line to the last line of its body. The check parses the files
with ``ast`` only: nothing is imported, so TensorFlow is never loaded.
"""

import ast
import pathlib

TRAINING = pathlib.Path(__file__).resolve().parents[2] / "attention_layers" / "training"
MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 60


def _sources():
    """Return (path relative to the package, text) for every .py under training/."""
    paths = sorted(TRAINING.rglob("*.py"))
    assert paths, f"no Python files found under {TRAINING}"
    return [(path.relative_to(TRAINING.parent), path.read_text()) for path in paths]


def _long_functions(text, limit):
    """Return 'name (first-last: n lines)' for each function over `limit` lines."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > limit:
                found.append(f"{node.name} ({node.lineno}-{node.end_lineno}: {length} lines)")
    return found


def test_no_file_over_the_line_limit():
    too_long = [
        f"{path}: {len(text.splitlines())} lines"
        for path, text in _sources()
        if len(text.splitlines()) > MAX_FILE_LINES
    ]
    assert too_long == [], f"files over {MAX_FILE_LINES} lines: {too_long}"


def test_no_function_over_the_line_limit():
    too_long = [
        f"{path}: {function}"
        for path, text in _sources()
        for function in _long_functions(text, MAX_FUNCTION_LINES)
    ]
    assert too_long == [], f"functions over {MAX_FUNCTION_LINES} lines: {too_long}"


def test_the_function_count_covers_decorators_body_and_methods():
    text = "class A:\n    @staticmethod\n    def f():\n" + "        x = 1\n" * 5 + "\ndef g():\n    pass\n"
    assert _long_functions(text, 5) == ["f (3-8: 6 lines)"]
    assert _long_functions(text, 6) == []
