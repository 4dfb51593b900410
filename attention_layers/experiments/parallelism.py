"""Experiment 3: training-step time against length, a GRU against self-attention.

The claim (Vaswani et al. 2017, §4 and Table 1): a recurrent layer needs `O(T)` sequential
operations, one per position, while self-attention needs `O(1)`: all positions are
computed at once, so on parallel hardware its step time grows slowly with `T` until the
device is full, even though it does `O(T^2)` work. Measured here: one training step
(`Model.train_on_batch`, forward, backward and update) of a `keras.layers.GRU(width)` and
of our `MultiHeadAttention` (self-attention) at the same parameter count (`key_dim` is
chosen to match the GRU's weights, see `attention_key_dim`), the same width, batch and
inputs, the two timed in turn; the report keeps every timed step, the table shows their
median and min-max range.

Which GRU runs depends on the backend and device (Keras' `GRU`, `use_cudnn="auto"`, with
its default tanh/sigmoid, `reset_after=True`, no mask, no recurrent dropout):

    # TensorFlow on a GPU: the fused cuDNN GRU kernel (not XLA-compiled)
    KERAS_BACKEND=tensorflow python -m attention_layers.experiments parallelism
    # JAX on a GPU: a `lax.scan` over positions, under XLA
    KERAS_BACKEND=jax python -m attention_layers.experiments parallelism

On a CPU, TensorFlow runs a `while` loop over positions. `--no-gru-use-cudnn` forces
Keras' generic loop on a TensorFlow GPU as well. The path taken is recorded in the JSON
(`gru_path`) with the device and the load average before and after the run.
"""

import dataclasses
import functools
import os
import pathlib

import keras
import numpy as np

from attention_layers.experiments import harness
from attention_layers.layers import MultiHeadAttention

KINDS = ("gru", "self_attention")
TOLERANCE = 0.05  # largest relative difference in weights reported as "equal size"


@dataclasses.dataclass(frozen=True)
class ParallelismConfig:
    """Sizes of the parallelism experiment (defaults: the full run)."""

    lengths: tuple = dataclasses.field(
        default=(32, 64, 128, 256, 512, 1024, 2048), metadata={"help": "sequence lengths"})
    width: int = dataclasses.field(default=64, metadata={"help": "GRU units = model width"})
    heads: int = dataclasses.field(default=4, metadata={"help": "attention heads"})
    batch_size: int = dataclasses.field(default=16, metadata={"help": "sequences per step"})
    repeats: int = dataclasses.field(default=5, metadata={"help": "timed steps per length"})
    gru_use_cudnn: bool = dataclasses.field(
        default=True,
        metadata={"help": "GRU(use_cudnn='auto'): cuDNN on a TensorFlow GPU; "
                          "--no-gru-use-cudnn forces Keras' generic loop"})

    @classmethod
    def quick(cls):
        return cls(lengths=(16, 64), width=16, heads=2, batch_size=4, repeats=2)


def attention_key_dim(width, heads):
    """The per-head query/key/value size that gives self-attention the GRU's weight count.

    `keras.layers.GRU(width)` on `width`-wide inputs (`reset_after=True`, the default) has
    `3 * width * (2 * width + 2)` weights: per gate an input kernel `(width, width)`, a
    recurrent kernel `(width, width)` and two biases. `MultiHeadAttention(heads, key_dim)`
    with `value_dim = key_dim` and its output projected back to `width` has
    `heads * key_dim * (4 * width + 3) + width`: the query, key and value kernels
    `(width, heads, key_dim)` with biases `(heads, key_dim)`, and the output kernel
    `(heads, key_dim, width)` with bias `(width,)`. The count is linear in `key_dim`, so the
    rounded solution of "attention = GRU" is the closest count (at least 1).
    """
    gru_weights = 3 * width * (2 * width + 2)
    return max(1, round((gru_weights - width) / (heads * (4 * width + 3))))


def _model(kind, length, config):
    inputs = keras.Input((length, config.width))
    if kind == "gru":
        use_cudnn = "auto" if config.gru_use_cudnn else False
        outputs = keras.layers.GRU(
            config.width, return_sequences=True, use_cudnn=use_cudnn)(inputs)
    else:
        key_dim = attention_key_dim(config.width, config.heads)
        outputs = MultiHeadAttention(config.heads, key_dim)(inputs, inputs)  # (batch, T, width)
    model = keras.Model(inputs, outputs, name=kind)
    model.compile(optimizer="sgd", loss="mse")
    return model


def gru_path(model, use_cudnn):
    """Which implementation Keras' `GRU` runs in `model`, in words (see the module doc)."""
    backend, device = keras.backend.backend(), harness.environment()["device"]
    compiled = "XLA-compiled" if model.jit_compile else "not XLA-compiled"
    if backend == "tensorflow":
        if use_cudnn and harness.on_gpu():
            return f"cuDNN GRU kernel, TensorFlow, {compiled}, on {device}"
        return f"TensorFlow while loop over positions, {compiled}, on {device}"
    if backend == "jax":
        loop = ("input projection hoisted out of the loop" if use_cudnn
                else "Keras' generic RNN loop")
        return f"JAX lax.scan over positions ({loop}), {compiled}, on {device}"
    return f"Keras' generic RNN loop on {backend}, on {device}"


def run(config=None, output=None):
    """Run the experiment; write `parallelism.json` and `parallelism.png` under `output`.

    Returns:
        A dict: `config`, `environment`, `parameters` per model, `parameter_difference`
        (attention's weights relative to the GRU's, minus 1), `key_dim`, `gru_path`,
        `jit_compile` per model (a cuDNN GRU is not XLA-compiled), `load_average`
        (`os.getloadavg()` at the `start` and `end`), `results[model]` a list of
        `{"length", "seconds", "median", "min", "max", "timings"}` (`timings`: seconds of
        each of the `repeats` steps; `seconds` is their median, as `median`), and
        `growth[model]`, the slope of log(median time) against log(length) over the longest
        half of the lengths (1: linear, 2: quadratic).
    """
    config = config or ParallelismConfig()
    output = pathlib.Path(output or "runs/experiments/parallelism")
    load_start = os.getloadavg()
    print(f"load average (1, 5, 15 min) at start: {harness.load_average_text(load_start)}", flush=True)
    first = {kind: _model(kind, config.lengths[0], config) for kind in KINDS}
    parameters = {kind: model.count_params() for kind, model in first.items()}
    difference = _check_sizes(parameters)
    path = gru_path(first["gru"], config.gru_use_cudnn)
    print(f"GRU: {parameters['gru']} weights, {path}; self-attention: "
          f"{parameters['self_attention']} weights ({difference:+.1%})", flush=True)
    rng = np.random.default_rng(0)
    results = {kind: [] for kind in KINDS}
    for length in config.lengths:
        keras.backend.clear_session()
        inputs = rng.normal(size=(config.batch_size, length, config.width)).astype("float32")
        target = np.zeros_like(inputs)
        steps = {}
        for kind in KINDS:
            model = _model(kind, length, config)
            steps[kind] = functools.partial(model.train_on_batch, inputs, target)
        seconds = harness.interleaved_seconds(steps, config.repeats)
        for kind in KINDS:
            results[kind].append(_spread(length, seconds[kind]))
        print(f"T={length}: " + ", ".join(
            f"{kind} {results[kind][-1]['median'] * 1000:.1f} ms "
            f"({_milliseconds_range(results[kind][-1])})" for kind in KINDS), flush=True)
    load_end = os.getloadavg()
    print(f"load average (1, 5, 15 min) at end: {harness.load_average_text(load_end)}", flush=True)
    report = {
        "config": dataclasses.asdict(config),
        "environment": harness.environment(),
        "parameters": parameters,
        "parameter_difference": difference,
        "key_dim": attention_key_dim(config.width, config.heads),
        "gru_path": path,
        "jit_compile": {kind: bool(model.jit_compile) for kind, model in first.items()},
        "load_average": {"start": list(load_start), "end": list(load_end)},
        "results": results,
        "growth": {kind: _growth(rows) for kind, rows in results.items()},
    }
    return harness.publish(report, output, "parallelism", plot, table)


def _check_sizes(parameters):
    """Attention's weights relative to the GRU's, minus 1; warns beyond `TOLERANCE`."""
    difference = parameters["self_attention"] / parameters["gru"] - 1
    if abs(difference) > TOLERANCE:
        print(f"warning: self-attention has {parameters['self_attention']} weights, the GRU "
              f"{parameters['gru']} ({difference:+.1%}); the comparison is not at equal "
              "size", flush=True)
    return difference


def _spread(length, seconds):
    median = float(np.median(seconds))
    return {"length": length, "seconds": median, "median": median,
            "min": float(np.min(seconds)), "max": float(np.max(seconds)),
            "timings": [float(value) for value in seconds]}


def _growth(rows):
    """Slope of log(seconds) on log(length) over the longer half of the lengths."""
    rows = rows[len(rows) // 2 :] if len(rows) > 2 else rows
    lengths = np.log([row["length"] for row in rows])
    seconds = np.log([row["seconds"] for row in rows])
    return float(np.polyfit(lengths, seconds, 1)[0]) if len(rows) > 1 else None


def _milliseconds_range(row):
    """`min-max` in ms, or `-` for a report recorded before the spread was kept."""
    if "min" not in row:
        return None
    low, high = row["min"] * 1000, row["max"] * 1000
    return "-".join(f"{value:.3g}" if value < 100 else f"{value:.0f}" for value in (low, high))


def table(report):
    gru, attention = (report["results"][kind] for kind in KINDS)
    rows = [
        [g["length"], g["seconds"] * 1000, _milliseconds_range(g),
         a["seconds"] * 1000, _milliseconds_range(a), g["seconds"] / a["seconds"]]
        for g, a in zip(gru, attention, strict=True)
    ]
    parameters, config = report["parameters"], report["config"]
    key_dim = report.get("key_dim", config["width"] // config["heads"])
    header = (f"GRU: {parameters['gru']} weights, {report.get('gru_path', 'path not recorded')}"
              f"\nself-attention: {config['heads']} heads of {key_dim}, "
              f"{parameters['self_attention']} weights "
              f"({parameters['self_attention'] / parameters['gru'] - 1:+.1%} against the GRU)"
              f"\nmedian and min-max of {config['repeats']} steps")
    text = harness.format_table(
        ["T", "GRU ms", "GRU range", "self-attention ms", "self-attention range",
         "GRU / attention"], rows)
    growth = report["growth"]
    footer = (f"time ~ T^k over the longer lengths: GRU k={growth['gru']:.2f}, "
              f"self-attention k={growth['self_attention']:.2f}")
    if "load_average" in report:
        load = report["load_average"]
        footer += (f"\nload average (1, 5, 15 min): {harness.load_average_text(load['start'])} at start, "
                   f"{harness.load_average_text(load['end'])} at end, on {report['environment']['cpu_count']} CPUs")
    return f"{header}\n{text}\n{footer}"


def plot(report, path):
    """Median step time against length, log-log, one line per model, min-max band."""
    figure, axis = harness.subplots(figsize=(5.4, 4), layout="constrained")
    names = {"gru": "GRU", "self_attention": f"self-attention, {report['config']['heads']} "
                                             f"heads of {report['key_dim']}"}
    for kind, rows in report["results"].items():
        lengths = [row["length"] for row in rows]
        line, = axis.plot(lengths, [row["median"] * 1000 for row in rows], marker="o",
                          label=f"{names[kind]} ({report['parameters'][kind]} weights)")
        axis.fill_between(lengths, [row["min"] * 1000 for row in rows],
                          [row["max"] * 1000 for row in rows], color=line.get_color(),
                          alpha=0.2, linewidth=0)
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set_xlabel("sequence length T")
    axis.set_ylabel("training step (ms)")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    environment, config = report["environment"], report["config"]
    axis.set_title(f"{environment['backend']} on {environment['device']}, "
                   f"batch {config['batch_size']}, width {config['width']}; median and "
                   f"min-max of {config['repeats']} steps\nGRU: {report['gru_path']}",
                   fontsize=8)
    return harness.save_figure(figure, path)
