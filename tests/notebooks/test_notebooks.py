"""Every tutorial notebook runs top to bottom in a fresh kernel, outside the checkout,
stays small, prints the figures it claims (`key_figures.py`), and opens anywhere: an
"Open in Colab" badge and a first code cell that installs the package where it is missing."""

import os
import pathlib
import re
import sys
import time

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

from tests.notebooks.key_figures import KEY_FIGURES, failed_key_figures

ROOT = pathlib.Path(__file__).parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Each notebook's default settings run in at most 3 minutes on 2 cores; the timeout per
# cell leaves room for a slow, shared machine.
CELL_TIMEOUT_SECONDS = 600
# The repository's public address (no git remote names one yet): the badges open the
# notebooks from it and the install cell clones it.
REPOSITORY = "attention-layers/attention-layers"
COLAB = "https://colab.research.google.com"


def test_there_are_notebooks_and_each_has_key_figures():
    assert len(NOTEBOOKS) >= 2
    assert sorted(KEY_FIGURES) == [path.stem for path in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_committed_outputs_show_the_key_figures(path):
    """The outputs a reader sees on GitHub support the notebook's claims (no execution)."""
    assert not failed_key_figures(path.stem, nbformat.read(path, as_version=4))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_in_a_fresh_kernel(path, monkeypatch, tmp_path):
    assert path.stat().st_size < 1_000_000, f"{path.name} is over 1 MB with its outputs"
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown"  # prose first
    # The notebooks import the installed package; the kernel gets this checkout first on
    # its path, so that it is this checkout that is tested, installed or not. It runs in
    # an empty folder outside the checkout, as in Colab or a user's own folder: a path
    # into the checkout relative to the notebook's folder fails here.
    monkeypatch.setenv("PYTHONPATH", str(ROOT), prepend=os.pathsep)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    elapsed = time.perf_counter() - start
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    # The package is importable, so the install cell did nothing (and used no network).
    assert _install_cell(notebook).outputs == []
    assert list(tmp_path.iterdir()) == []  # nothing cloned or written into the folder
    images = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert images >= 1, f"{path.name} draws no plot"
    assert not failed_key_figures(path.stem, notebook)
    print(f"{path.name}: {elapsed:.0f} s")


def _install_cell(notebook):
    return next(cell for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_opens_in_colab_and_installs_what_it_needs(path):
    notebook = nbformat.read(path, as_version=4)
    badge = notebook.cells[0]
    assert badge.cell_type == "markdown"
    links = re.findall(r"\[!\[Open In Colab\]\(([^)]+)\)\]\(([^)]+)\)", badge.source)
    assert links == [
        (f"{COLAB}/assets/colab-badge.svg",
         f"{COLAB}/github/{REPOSITORY}/blob/main/notebooks/{path.name}")
    ]  # fmt: skip
    # The cells before the install cell are prose only; no code cell reads a path relative
    # to the notebook's folder.
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0] == _install_cell(notebook).source and "%pip install" in code[0]
    for source in code:
        assert "cwd()" not in source and "../" not in source, source


class _FakeShell:
    """Records the shell commands and magics an IPython cell would run."""

    def __init__(self):
        self.calls = []

    def system(self, command):
        self.calls.append(("!", command))

    def run_line_magic(self, name, line, _stack_depth=1):
        self.calls.append(("%" + name, line))


def _run_install_cell(monkeypatch, importable):
    source = _install_cell(nbformat.read(NOTEBOOKS[0], as_version=4)).source
    assert all(
        _install_cell(nbformat.read(path, as_version=4)).source == source for path in NOTEBOOKS
    ), "every notebook starts with the same install cell"
    python = TransformerManager().transform_cell(source)  # what IPython runs
    monkeypatch.setattr(sys, "path", list(sys.path))
    if not importable:
        monkeypatch.setitem(sys.modules, "attention_layers", None)  # `import` now fails
    shell = _FakeShell()
    exec(python, {"get_ipython": lambda: shell})  # noqa: S102
    return shell.calls


def test_install_cell_does_nothing_where_the_package_imports(monkeypatch):
    assert _run_install_cell(monkeypatch, importable=True) == []


def test_install_cell_clones_and_installs_where_the_package_is_missing(monkeypatch):
    calls = _run_install_cell(monkeypatch, importable=False)
    assert calls == [
        ("!", f"git clone --quiet --depth 1 https://github.com/{REPOSITORY}.git"),
        ("%pip", "install --quiet -e ./attention-layers"),
    ]
    # The clone's folder (the repository's name) goes on the path, for this kernel.
    assert sys.path[0] == REPOSITORY.split("/")[1]
