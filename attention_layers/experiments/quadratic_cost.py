"""Experiment 4: the quadratic cost of attention, and what local attention saves.

The claim (Vaswani et al. 2017, Table 1; Beltagy et al. 2020, "Longformer", §3):
self-attention costs `O(T^2)` time and memory in the sequence length `T`, because it scores
every query against every key; sliding-window attention scores each query against
`2w + 1` keys only, `O(T * w)`. Measured here for our `MultiHeadAttention`, one training
step (forward and backward) of self-attention, in three variants:

- `explicit`: `return_attention_scores=True`, which materializes the `(T, T)` weights;
- `fused`: weights not requested, so `keras.ops.dot_product_attention` runs (a fused
  kernel on JAX and PyTorch GPUs; on CPUs it still forms the scores);
- `sliding_window`: `sliding_window=window`, the banded path (`O(T * window)`) once
  `T > 3 * window`.

Each variant runs in a fresh process, its lengths in increasing order, and reports per
length the median step time and the growth of the process's peak resident memory
(`ru_maxrss`) above its level after a warm-up step at a short length; on JAX also the
temporary buffer size that XLA plans for the compiled step (`memory_analysis()`), which is
exact. On a GPU it also reports the device's peak memory, and the `explicit` and `fused`
variants keep doubling the length until the device runs out of memory, and report that
length.
"""

import dataclasses
import functools
import pathlib
import re

import numpy as np

from attention_layers.experiments import harness

VARIANTS = ("explicit", "fused", "sliding_window")


@dataclasses.dataclass(frozen=True)
class QuadraticCostConfig:
    """Sizes of the quadratic-cost experiment (defaults: the full run)."""

    variants: tuple = dataclasses.field(
        default=VARIANTS, metadata={"help": "what to measure", "choices": VARIANTS})
    lengths: tuple = dataclasses.field(
        default=(256, 512, 1024, 2048, 4096), metadata={"help": "sequence lengths"})
    batch_size: int = dataclasses.field(default=1, metadata={"help": "sequences per step"})
    width: int = dataclasses.field(default=256, metadata={"help": "model width"})
    heads: int = dataclasses.field(default=8, metadata={"help": "attention heads"})
    window: int = dataclasses.field(default=128, metadata={"help": "sliding window w"})
    repeats: int = dataclasses.field(default=3, metadata={"help": "timed steps per length"})
    backend: str = dataclasses.field(
        default="", metadata={"help": "Keras backend of the measurements (default: current)"})
    find_oom: bool = dataclasses.field(
        default=True, metadata={"help": "on a GPU, double T until full attention runs out"})

    @classmethod
    def quick(cls):
        return cls(lengths=(256, 2048), width=64, heads=4, repeats=2)


def _train_step(variant, length, batch_size, width, heads, window):
    """A compiled forward-and-backward step of one self-attention layer, and its inputs."""
    import keras

    from attention_layers.layers import MultiHeadAttention

    layer = MultiHeadAttention(
        heads, width // heads, sliding_window=window if variant == "sliding_window" else None
    )
    inputs = keras.Input((length, width))
    if variant == "explicit":
        outputs, _ = layer(inputs, inputs, return_attention_scores=True)
    else:
        outputs = layer(inputs, inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    data = np.random.default_rng(0).normal(size=(batch_size, length, width)).astype("float32")
    target = np.zeros_like(data)
    return model, data, target


def _xla_temp_bytes(model, data, target):
    """Temporary memory XLA plans for the compiled forward+backward (JAX backend only)."""
    import jax
    from keras import ops

    def loss(trainable, non_trainable, inputs):
        outputs, _ = model.stateless_call(trainable, non_trainable, inputs)
        return ops.mean(ops.square(outputs - target))

    trainable = [variable.value for variable in model.trainable_variables]
    non_trainable = [variable.value for variable in model.non_trainable_variables]
    compiled = jax.jit(jax.grad(loss, argnums=(0, 2))).lower(
        trainable, non_trainable, data).compile()
    return int(compiled.memory_analysis().temp_size_in_bytes)


def _is_out_of_memory(error):
    text = str(error).lower()
    return bool(re.search(r"resource_exhausted|out of memory|\boom\b", text))


def measure_variant(variant, lengths, batch_size, width, heads, window, repeats, find_oom):
    """Run in a fresh process (see `harness.run_in_subprocess`): time and memory per length."""
    import keras

    backend = keras.backend.backend()
    model, data, target = _train_step(variant, 32, batch_size, width, heads, window)
    model.train_on_batch(data, target)  # warm-up: kernels, thread pools, compiler
    baseline = harness.peak_rss_mb()
    rows = []
    for length in lengths:
        model, data, target = _train_step(variant, length, batch_size, width, heads, window)
        seconds = harness.interleaved_seconds(
            {"step": functools.partial(model.train_on_batch, data, target)}, repeats)["step"]
        row = {
            "length": length,
            "seconds": float(np.median(seconds)),
            "peak_rss_mb": round(harness.peak_rss_mb(), 1),
            "rss_growth_mb": round(harness.peak_rss_mb() - baseline, 1),
        }
        if harness.on_gpu():
            row["device_peak_mb"] = round(harness.device_peak_mb(), 1)
        if backend == "jax":
            row["xla_temp_mb"] = round(_xla_temp_bytes(model, data, target) / 2**20, 2)
        rows.append(row)
    result = {"rows": rows, "baseline_rss_mb": round(baseline, 1),
              "environment": harness.environment(), "oom_length": None}
    if find_oom and variant != "sliding_window" and harness.on_gpu():
        result["oom_length"] = _first_failing_length(
            variant, lengths[-1] * 2, batch_size, width, heads, window)
    return result


def _first_failing_length(variant, length, batch_size, width, heads, window, limit=2**21):
    """The first length (doubling) whose training step runs out of device memory."""
    while length <= limit:
        try:
            model, data, target = _train_step(variant, length, batch_size, width, heads, window)
            model.train_on_batch(data, target)
        except Exception as error:  # the backends raise different OOM types
            if _is_out_of_memory(error):
                return length
            raise
        length *= 2
    return None


def run(config=None, output=None):
    """Run the experiment; write `quadratic_cost.json` and `quadratic_cost.png`.

    Returns:
        A dict: `config`, `environment` (of the measuring processes), and
        `results[variant]` with `rows` (per length: `seconds`, `peak_rss_mb`,
        `rss_growth_mb`, and on JAX `xla_temp_mb`), `baseline_rss_mb`, `oom_length`.
    """
    config = config or QuadraticCostConfig()
    output = pathlib.Path(output or "runs/experiments/quadratic_cost")
    results = {}
    for variant in config.variants:
        if variant not in VARIANTS:
            raise ValueError(f"Unknown variant {variant!r}; choose from {VARIANTS}.")
        results[variant] = harness.run_in_subprocess(
            "attention_layers.experiments.quadratic_cost:measure_variant",
            backend=config.backend or None, variant=variant,
            lengths=sorted(config.lengths), batch_size=config.batch_size, width=config.width,
            heads=config.heads, window=config.window, repeats=config.repeats,
            find_oom=config.find_oom,
        )
        print(f"{variant}: measured {len(config.lengths)} lengths", flush=True)
    environment = next(iter(results.values()))["environment"]
    environment["command"] = harness.environment()["command"]
    report = {"config": dataclasses.asdict(config), "environment": environment,
              "results": results}
    return harness.publish(report, output, "quadratic_cost", plot, table)


def table(report):
    """Time and memory growth per length (rows) and variant (columns)."""
    results = report["results"]
    variants = list(results)
    has_xla = all("xla_temp_mb" in row for v in variants for row in results[v]["rows"])
    header = ["T"]
    for variant in variants:
        header += [f"{variant} s", f"{variant} +RSS MB"]
        if has_xla:
            header.append(f"{variant} XLA MB")
    rows = []
    for index, first in enumerate(results[variants[0]]["rows"]):
        row = [first["length"]]
        for variant in variants:
            measured = results[variant]["rows"][index]
            row += [measured["seconds"], measured["rss_growth_mb"]]
            if has_xla:
                row.append(measured["xla_temp_mb"])
        rows.append(row)
    text = harness.format_table(header, rows)
    for variant in variants:
        if results[variant]["oom_length"]:
            text += f"\n{variant}: out of device memory at T={results[variant]['oom_length']}"
    return text


def plot(report, path):
    """Step time and memory growth against length, log-log, with `T^2` and `T` guides."""
    results = report["results"]
    lengths = np.array([row["length"] for row in next(iter(results.values()))["rows"]], float)
    memory_key = "xla_temp_mb" if all(
        "xla_temp_mb" in row for v in results for row in results[v]["rows"]) else "rss_growth_mb"
    memory_label = {"xla_temp_mb": "XLA temporary memory (MiB)",
                    "rss_growth_mb": "peak RSS growth (MiB)"}[memory_key]
    figure, (time_axis, memory_axis) = harness.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    for variant, measured in results.items():
        time_axis.plot(lengths, [row["seconds"] for row in measured["rows"]], marker="o",
                       label=variant)
        memory_axis.plot(lengths, [max(row[memory_key], 1e-2) for row in measured["rows"]],
                         marker="o", label=variant)
    for axis, values in ((time_axis, "seconds"), (memory_axis, memory_key)):
        # Guides through the last (longest) measurements: T^2 through the highest, T
        # through the lowest.
        last = [max(m["rows"][-1][values], 1e-2) for m in results.values()]
        axis.plot(lengths, max(last) * (lengths / lengths[-1]) ** 2, "k:", label="∝ T²")
        axis.plot(lengths, min(last) * (lengths / lengths[-1]), "k--", alpha=0.5, label="∝ T")
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("sequence length T")
        axis.grid(alpha=0.3, which="both")
    time_axis.set_ylabel("training step (s)")
    memory_axis.set_ylabel(memory_label)
    memory_axis.legend(fontsize=8)
    environment = report["environment"]
    figure.suptitle(f"Cost of self-attention ({environment['backend']}, "
                    f"{environment['device']}, window {report['config']['window']})")
    return harness.save_figure(figure, path)
