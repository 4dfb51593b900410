"""The `Example:` of every public docstring runs and shows what it says."""

import doctest

import pytest

from attention_layers.visualization import (
    callback,
    heatmaps,
    html_view,
    spatial,
    token_importance,
)


@pytest.mark.parametrize(
    "module", [callback, heatmaps, html_view, spatial, token_importance], ids=lambda m: m.__name__
)
def test_docstring_examples(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples may write files
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
