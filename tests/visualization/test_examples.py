"""The `Example:` of every public docstring runs and shows what it says."""

import doctest
import re

import numpy as np
import pytest
import tensorflow as tf

from attention_layers.models import TransformerTranslator
from attention_layers.training import masked_loss
from attention_layers.visualization import (
    callback,
    heatmaps,
    html_view,
    spatial,
    token_importance,
)


@pytest.mark.parametrize(
    "module", [heatmaps, html_view, spatial, token_importance], ids=lambda m: m.__name__
)
def test_docstring_examples(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples may write files
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{module.__name__} has no example to run"
    assert result.failed == 0


@pytest.mark.slow
def test_the_callback_example_runs(tmp_path, monkeypatch):
    """`AttentionPlotCallback`'s example needs a model and data, so it is a code block,
    not a doctest: it runs here with a tiny translator (for 1 epoch, not 10)."""
    monkeypatch.chdir(tmp_path)
    (example,) = re.findall(
        r"```python\n(.*?)```", callback.AttentionPlotCallback.__doc__, flags=re.DOTALL
    )
    source_ids = np.array([[4, 5, 3], [6, 3, 0]], "int32")  # el gato <end> / hola <end>
    target_in_ids = np.array([[2, 7, 8], [2, 9, 0]], "int32")  # <start> the cat / <start> hello
    target_out_ids = np.array([[7, 8, 3], [9, 3, 0]], "int32")
    model = TransformerTranslator(
        10, 10, num_layers=1, model_dim=8, num_heads=2, feed_forward_dim=16
    )
    model.compile("adam", masked_loss())
    dataset = tf.data.Dataset.from_tensors(((source_ids, target_in_ids), target_out_ids))
    code = "\n".join(line[4:] if line.startswith("    ") else line for line in example.splitlines())
    assert "epochs=10" in code
    exec(  # noqa: S102  (the docstring's own code)
        code.replace("epochs=10", "epochs=1"),
        {"AttentionPlotCallback": callback.AttentionPlotCallback, "model": model,
         "dataset": dataset, "source_ids": source_ids, "target_in_ids": target_in_ids},
    )
    pictures = sorted((tmp_path / "runs" / "demo" / "attention").rglob("*.png"))
    assert pictures, "the example drew no plot"
    assert any((tmp_path / "runs" / "demo" / "logs").rglob("events.out.tfevents.*"))
