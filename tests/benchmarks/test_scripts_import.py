"""Every script in `benchmarks/` still starts: it loads (its imports from the package
exist), `--help` prints its usage, and each name that it imports from `attention_layers`,
also inside a function, is still there. A re-cut of the package that moves a name breaks a
benchmark nobody runs for weeks; this finds it in CI, in this process (no subprocess per
script: the modules are loaded the way `python benchmarks/NAME.py` would, without running
their `main`)."""

import ast
import importlib
import importlib.util
import json
import os
import pathlib
import sys

import pytest

FOLDER = pathlib.Path(__file__).parents[2] / "benchmarks"
SCRIPTS = sorted(FOLDER.glob("*.py"))


@pytest.fixture
def benchmark_process(monkeypatch):
    """What running a script changes in the process, undone afterwards: the script's folder
    first on `sys.path` (a script imports its neighbours, as `beam_settings.py` imports
    `translation_quality`), `os.environ` (the scripts' `setdefault`s) and `sys.argv`; the
    neighbours imported by name leave `sys.modules` again."""
    monkeypatch.syspath_prepend(str(FOLDER))
    environment, modules = dict(os.environ), set(sys.modules)
    yield
    os.environ.clear()
    os.environ.update(environment)
    for name in set(sys.modules) - modules:
        if getattr(sys.modules[name], "__file__", None) and \
                pathlib.Path(sys.modules[name].__file__).parent == FOLDER:
            del sys.modules[name]


def load(path):
    """The script at `path` as a module named after it (not `__main__`: its `main` does
    not run)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_script_is_checked():
    assert len(SCRIPTS) >= 10
    assert {"beam_settings.py", "translation_quality.py", "translation_step_time.py"} <= {
        path.name for path in SCRIPTS}


@pytest.mark.parametrize("path", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_script_loads_and_prints_its_help(path, benchmark_process, monkeypatch, capsys):
    module = load(path)
    assert callable(getattr(module, "main", None)), f"{path.name} has no main()"
    monkeypatch.setattr(sys, "argv", [str(path), "--help"])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: ")


def package_imports(tree):
    """`(module, name)` of each `from attention_layers... import name` in `tree`, and
    `(module, None)` of each `import attention_layers...`, wherever they stand."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "attention_layers"):
            yield from ((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names
                        if alias.name.startswith("attention_layers"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_names_imported_from_the_package_exist(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    missing = []
    for module_name, name in package_imports(tree):
        module = importlib.import_module(module_name)
        if name is not None and not hasattr(module, name):
            try:  # a submodule: `from attention_layers.experiments import harness`
                importlib.import_module(f"{module_name}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"{path.name} imports names that no longer exist: {missing}"


def test_scripts_run_main_only_as_a_program():
    """Each script ends with the `if __name__ == "__main__":` guard and calls nothing named
    `main` outside it: loaded (above) or imported by a neighbour, it would run."""
    for path in SCRIPTS:
        body = ast.parse(path.read_text(encoding="utf-8")).body
        guard = body[-1]
        assert isinstance(guard, ast.If) and ast.unparse(guard.test) == "__name__ == '__main__'", (
            f"{path.name} does not end with the __main__ guard")
        calls = [ast.unparse(node) for statement in body[:-1] for node in ast.walk(statement)
                 if isinstance(node, ast.Call) and ast.unparse(node.func) == "main"]
        assert not calls, f"{path.name} calls {calls[0]} at import"


def test_beam_settings_reads_a_run_as_an_export_does(benchmark_process, tmp_path):
    """`beam_settings.py` decodes a finished run with the run's own config and tokenizers:
    a cased side stays cased, and a `config.json` written before `--case` lower-cases both
    (it once passed the raw `config.json` to the task, which wants a `TranslationConfig`)."""
    from attention_layers.text import WordTokenizer

    bench = load(FOLDER / "beam_settings.py")
    sentences = ["Tom vive en París.", "¿Dónde duermen mis gatos?"]
    vocabulary = WordTokenizer.build(sentences, lowercase=False).vocabulary
    for name in ("source_vocab.txt", "target_vocab.txt"):
        WordTokenizer(vocabulary).save(tmp_path / name)
    saved = {"dataset": "spa-eng", "seed": 3, "max_length": 12, "vocabulary": "word",
             "epochs": 30, "output": str(tmp_path)}
    for case_by_side, lowercase in (({"source": "keep", "target": "lower"}, [False, True]),
                                    (None, [True, True])):  # None: written before --case
        config_json = dict(saved, **({"case_by_side": case_by_side} if case_by_side else {}))
        (tmp_path / "config.json").write_text(json.dumps(config_json))
        config, tokenizers = bench.read_run(tmp_path)
        assert (config.dataset, config.seed, config.max_length) == ("spa-eng", 3, 12)
        assert [tokenizer.lowercase for tokenizer in tokenizers] == lowercase
        assert all(tokenizer.vocabulary == vocabulary for tokenizer in tokenizers)
