"""Experiment 3: training-step time against length, a GRU against self-attention.

The claim (Vaswani et al. 2017, §4 and Table 1): a recurrent layer needs `O(T)` sequential
operations, one per position, while self-attention needs `O(1)`: all positions are
computed at once, so on parallel hardware its step time grows slowly with `T` until the
device is full, even though it does `O(T^2)` work. Measured here: one training step
(`Model.train_on_batch`, forward, backward and update) of a `keras.layers.GRU` and of our
`MultiHeadAttention` (self-attention), the same width, batch and inputs, the two timed in
turn (medians of `repeats`). Run it with `KERAS_BACKEND=jax` on a GPU machine for the GPU
half of the claim; the device is recorded in the JSON.
"""

import dataclasses
import functools
import pathlib

import keras
import numpy as np

from attention_layers.experiments import _common
from attention_layers.layers import MultiHeadAttention


@dataclasses.dataclass(frozen=True)
class ParallelismConfig:
    """Sizes of the parallelism experiment (defaults: the full run)."""

    lengths: tuple = dataclasses.field(
        default=(32, 64, 128, 256, 512, 1024, 2048), metadata={"help": "sequence lengths"})
    width: int = dataclasses.field(default=64, metadata={"help": "GRU units = model width"})
    heads: int = dataclasses.field(default=4, metadata={"help": "attention heads"})
    batch_size: int = dataclasses.field(default=16, metadata={"help": "sequences per step"})
    repeats: int = dataclasses.field(default=5, metadata={"help": "timed steps per length"})

    @classmethod
    def quick(cls):
        return cls(lengths=(16, 64), width=16, heads=2, batch_size=4, repeats=2)


def _model(kind, length, width, heads):
    inputs = keras.Input((length, width))
    if kind == "gru":
        outputs = keras.layers.GRU(width, return_sequences=True)(inputs)
    else:
        outputs = MultiHeadAttention(heads, width // heads)(inputs, inputs)
    model = keras.Model(inputs, outputs, name=kind)
    model.compile(optimizer="sgd", loss="mse")
    return model


def run(config=None, output=None):
    """Run the experiment; write `parallelism.json` and `parallelism.png` under `output`.

    Returns:
        A dict: `config`, `environment`, `parameters` per model, `results[model]` a list of
        `{"length", "seconds"}`, and `growth[model]`, the slope of log(time) against
        log(length) over the longest half of the lengths (1: linear, 2: quadratic).
    """
    config = config or ParallelismConfig()
    output = pathlib.Path(output or "runs/experiments/parallelism")
    rng = np.random.default_rng(0)
    results = {"gru": [], "self_attention": []}
    parameters = {}
    for length in config.lengths:
        keras.backend.clear_session()
        inputs = rng.normal(size=(config.batch_size, length, config.width)).astype("float32")
        target = np.zeros_like(inputs)
        steps = {}
        for kind in results:
            model = _model(kind, length, config.width, config.heads)
            parameters[kind] = model.count_params()
            steps[kind] = functools.partial(model.train_on_batch, inputs, target)
        seconds = _common.interleaved_seconds(steps, config.repeats)
        for kind in results:
            results[kind].append({"length": length, "seconds": float(np.median(seconds[kind]))})
        print(f"T={length}: " + ", ".join(
            f"{kind} {results[kind][-1]['seconds'] * 1000:.1f} ms" for kind in results),
            flush=True)
    report = {
        "config": dataclasses.asdict(config),
        "environment": _common.environment(),
        "parameters": parameters,
        "results": results,
        "growth": {kind: _growth(rows) for kind, rows in results.items()},
    }
    return _common.publish(report, output, "parallelism", plot, table)


def _growth(rows):
    """Slope of log(seconds) on log(length) over the longer half of the lengths."""
    rows = rows[len(rows) // 2 :] if len(rows) > 2 else rows
    lengths = np.log([row["length"] for row in rows])
    seconds = np.log([row["seconds"] for row in rows])
    return float(np.polyfit(lengths, seconds, 1)[0]) if len(rows) > 1 else None


def table(report):
    gru, attention = report["results"]["gru"], report["results"]["self_attention"]
    rows = [
        [g["length"], g["seconds"] * 1000, a["seconds"] * 1000, g["seconds"] / a["seconds"]]
        for g, a in zip(gru, attention, strict=True)
    ]
    text = _common.format_table(
        ["T", "GRU ms", "self-attention ms", "GRU / attention"], rows)
    growth = report["growth"]
    return text + (f"\ntime ~ T^k over the longer lengths: GRU k={growth['gru']:.2f}, "
                   f"self-attention k={growth['self_attention']:.2f}")


def plot(report, path):
    """Step time against length, log-log, one line per model."""
    figure, axis = _common.subplots(figsize=(5, 3.8), layout="constrained")
    labels = {"gru": "GRU", "self_attention": "self-attention"}
    for kind, rows in report["results"].items():
        axis.plot([row["length"] for row in rows], [row["seconds"] * 1000 for row in rows],
                  marker="o", label=f"{labels[kind]} ({report['parameters'][kind]} weights)")
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set_xlabel("sequence length T")
    axis.set_ylabel("training step (ms)")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    environment = report["environment"]
    config = report["config"]
    axis.set_title(f"{environment['backend']} on {environment['device']}, "
                   f"batch {config['batch_size']}, width {config['width']}", fontsize=9)
    return _common.save_figure(figure, path)
