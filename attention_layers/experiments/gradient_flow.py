"""Experiment 2: how much gradient reaches each input, RNNs against self-attention.

The claim (Bengio et al. 1994; Hochreiter 1991; Pascanu et al. 2013, §2): in a recurrent
network `d(loss)/d(x_t)` is a product of `T - t` Jacobians, so it shrinks (or grows)
exponentially with the distance from the output; gating (LSTM) slows the decay; attention
connects the output to every input directly, so no position is far. Measured here: the
norm of the gradient of the loss with respect to each embedded token `x_t`, averaged over
a batch of `recall_first` sequences (the answer at `T - 1` depends on the token at 0), for
each model at initialization and after training on that task, once per seed (weights,
training data and measured batch); the figures are the mean and range over seeds.

The gradient is taken with `tf.GradientTape` on TensorFlow and `jax.grad` on JAX.
"""

import dataclasses
import pathlib

import keras
import numpy as np

from attention_layers.experiments import harness, long_range, models, tasks

_TASK = "recall_first"


@dataclasses.dataclass(frozen=True)
class GradientFlowConfig:
    """Sizes of the gradient-flow experiment (defaults: the full run)."""

    models: tuple = dataclasses.field(
        default=("simple_rnn", "lstm", "transformer"),
        metadata={"help": "models to compare", "choices": models.MODEL_NAMES})
    distance: int = dataclasses.field(
        default=100, metadata={"help": "sequence length - 1 (the answer's distance)"})
    parameters: int = dataclasses.field(default=20_000, metadata={"help": "weights per model"})
    train_steps: int = dataclasses.field(
        default=300, metadata={"help": "most training steps before the second measurement"})
    batch_size: int = dataclasses.field(default=16, metadata={"help": "sequences per step"})
    learning_rate: float = dataclasses.field(default=3e-3, metadata={"help": "Adam's rate"})
    examples: int = dataclasses.field(
        default=64, metadata={"help": "sequences the gradient norms are averaged over"})
    seeds: tuple = harness.seeds_field("measured")

    def __post_init__(self):
        harness.check_seeds(self.seeds)

    @classmethod
    def quick(cls):
        return cls(models=("simple_rnn", "transformer"), distance=20, parameters=6_000,
                   train_steps=10, examples=8, learning_rate=1e-2, seeds=(0, 1))


def input_gradient_norms(model, tokens, answers):
    """`||d(loss)/d(x_t)||` per position `t`, averaged over the batch: shape `(T,)`.

    `model` is a `models.build_model` model, `Sequential([Embedding, body])`; `x_t` is the
    embedded token that the body reads. The loss is summed over the batch, so each
    sequence's gradient is that of its own loss.
    """
    embedding, body = model.layers
    features = embedding(tokens)  # (batch, T, EMBEDDING_DIM)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(features)
            loss = loss_fn(answers, body(features))
        gradient = tape.gradient(loss, features)
    elif backend == "jax":
        import jax

        gradient = jax.grad(lambda inputs: loss_fn(answers, body(inputs)))(features)
    else:
        raise NotImplementedError(f"Input gradients are not implemented for {backend!r}.")
    norms = np.linalg.norm(keras.ops.convert_to_numpy(gradient), axis=-1)  # (batch, T)
    return norms.mean(axis=0)


def run(config=None, output=None):
    """Run the experiment; write `gradient_flow.json` and `gradient_flow.png` under `output`.

    Returns:
        A dict: `config`, `environment`, and `results[model]` with `parameters`,
        `initial` and `trained` (the gradient norm per position `t` over seeds, as
        `harness.spread` gives it: `mean`, `std`, `min` and `max` are lists of length
        `distance + 1`, `values` holds one such list per seed), `accuracy` after training
        (a spread over seeds) and `train_steps` (one per seed, in the order of
        `config.seeds`).
    """
    config = config or GradientFlowConfig()
    output = pathlib.Path(output or "runs/experiments/gradient_flow")
    # Every model is measured on the same batch for a given seed.
    batches = {seed: tasks.generate(_TASK, config.examples, config.distance, seed + 1000)
               for seed in config.seeds}
    results = {}
    for kind in config.models:
        runs = [measure(kind, config, seed, *batches[seed]) for seed in config.seeds]
        results[kind] = {
            "parameters": runs[0]["parameters"],
            "initial": harness.spread([run["initial"] for run in runs]),
            "trained": harness.spread([run["trained"] for run in runs]),
            "accuracy": harness.spread([run["accuracy"] for run in runs]),
            "train_steps": [run["train_steps"] for run in runs],
        }
        accuracy = results[kind]["accuracy"]
        print(f"{kind}: accuracy after training {accuracy['mean']:.3f} (mean of "
              f"{harness.seeds_text(config.seeds)}, {accuracy['min']:.3f}-"
              f"{accuracy['max']:.3f})",
              flush=True)
    report = {"config": dataclasses.asdict(config), "environment": harness.environment(),
              "results": results}
    return harness.publish(report, output, "gradient_flow", plot, table)


def measure(kind, config, seed, tokens, answers):
    """One model from one seed: its gradient norms on `(tokens, answers)` before and after
    training, and its held-out accuracy."""
    keras.backend.clear_session()
    model = models.build_matched(
        kind, config.parameters, tasks.VOCABULARY_SIZE, 1, tasks.NUM_SYMBOLS, seed=seed)
    initial = input_gradient_norms(model, tokens, answers)
    held_out = tasks.generate(_TASK, 256, config.distance, seed + 2000)
    (accuracy,), steps, _, _ = long_range.train(
        model, _TASK, config.distance, (config.train_steps,), config.batch_size,
        config.learning_rate, stop_accuracy=1.0, seed=seed, held_out=held_out,
    )
    print(f"{kind} seed {seed}: accuracy after {steps} training steps {accuracy:.3f}",
          flush=True)
    return {
        "parameters": model.count_params(),
        "initial": initial,
        "trained": input_gradient_norms(model, tokens, answers),
        "accuracy": accuracy,
        "train_steps": steps,
    }


def decay_ratio(norms):
    """`||grad at t=0|| / ||grad at t=T-1||`: the gradient reaching the needed token."""
    return float(norms[0] / norms[-1]) if norms[-1] > 0 else float("nan")


def table(report):
    """Mean gradient norms over seeds at a few positions, and the range over seeds of
    first / last, per model and stage."""
    config = report["config"]
    distance = config["distance"]
    positions = sorted({0, distance // 4, distance // 2, 3 * distance // 4, distance})
    rows = []
    for kind, result in report["results"].items():
        for stage in ("initial", "trained"):
            norms = result[stage]["mean"]
            ratios = [decay_ratio(values) for values in result[stage]["values"]]
            rows.append([kind, stage, *(norms[t] for t in positions),
                         f"{min(ratios):.3g} .. {max(ratios):.3g}"])
    header = ["model", "stage", *(f"t={t}" for t in positions), "t=0 / t=T-1"]
    return (f"||d loss / d x_t||, mean of {harness.seeds_text(config['seeds'])}; "
            f"t=0 / t=T-1: lowest and highest seed (recall_first, T={distance + 1}; "
            f"the answer needs t=0)\n"
            + harness.format_table(header, rows))


def plot(report, path):
    """Gradient norm against position, log scale, at initialization and after training:
    the mean over seeds, with the range of the seeds shaded."""
    figure, axes = harness.subplots(1, 2, figsize=(9, 3.8), sharey=True, layout="constrained")
    for axis, stage, title in zip(
        axes, ("initial", "trained"), ("at initialization", "after training"), strict=True
    ):
        for kind, result in report["results"].items():
            norms = {key: np.array(result[stage][key]) for key in ("mean", "min", "max")}
            label = models.DISPLAY_NAMES[kind]
            if stage == "trained":
                label += f", accuracy {result['accuracy']['mean']:.2f}"
            # float32 products of many small Jacobians reach exactly 0: a log axis has no
            # place for them, so they are left out and named in the legend.
            everywhere, somewhere = (np.flatnonzero(norms[key] == 0) for key in ("max", "min"))
            if everywhere.size:
                label += f"; exactly 0 for t <= {everywhere.max()}"
            if somewhere.size > everywhere.size:
                label += f"; in some seeds for t <= {somewhere.max()}"
            positive = {key: np.where(value > 0, value, np.nan) for key, value in norms.items()}
            line, = axis.plot(positive["mean"], label=label)
            axis.fill_between(np.arange(len(norms["mean"])), positive["min"], positive["max"],
                              color=line.get_color(), alpha=0.2, linewidth=0)
        axis.set_yscale("log")
        axis.set_title(title)
        axis.set_xlabel("position t")
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=8)
    axes[0].set_ylabel("||d loss / d x_t||")
    config = report["config"]
    length = config["distance"] + 1
    figure.suptitle(f"Gradient flow, recall_first, T = {length}: the answer is read at "
                    f"t = {length - 1} and needs the token at t = 0\n(mean and range of "
                    f"{harness.seeds_text(config['seeds'])})")
    return harness.save_figure(figure, path)
