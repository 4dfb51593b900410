"""Every tutorial notebook runs top to bottom in a fresh kernel, and stays small."""

import os
import pathlib
import time

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Each notebook's default settings run in at most 3 minutes on 2 cores; the timeout per
# cell leaves room for a slow, shared machine.
CELL_TIMEOUT_SECONDS = 600


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_in_a_fresh_kernel(path, monkeypatch):
    assert path.stat().st_size < 1_000_000, f"{path.name} is over 1 MB with its outputs"
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown"  # prose first
    # The notebooks import the installed package; the kernel gets this checkout first on
    # its path, so that it is this checkout that is tested, installed or not.
    monkeypatch.setenv("PYTHONPATH", str(ROOT), prepend=os.pathsep)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
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
    images = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert images >= 1, f"{path.name} draws no plot"
    print(f"{path.name}: {elapsed:.0f} s")
