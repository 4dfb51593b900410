"""Experiment 1: accuracy against the distance of the dependency, RNNs against attention.

The claim (Bengio et al. 1994; Hochreiter and Schmidhuber 1997; Vaswani et al. 2017, §4):
recurrent networks lose dependencies that span many steps, gated ones (LSTM, GRU) less so,
while attention reaches any position in one step. Here each model of `models.MODEL_NAMES`,
at the same parameter count, is trained from scratch on each task of `tasks.TASKS` at each
distance `d`, with the same data, batch size, optimizer and step budget, then scored on
held-out sequences. Training stops early once the running training accuracy reaches
`stop_accuracy`, so solved problems do not spend the budget.
"""

import collections
import dataclasses
import pathlib
import time

import keras
import numpy as np

from attention_layers.experiments import _common, models, tasks


@dataclasses.dataclass(frozen=True)
class LongRangeConfig:
    """Sizes of the long-range experiment.

    The defaults are the full run: about 800 s of CPU time per task (10-15 minutes on two
    idle CPU cores; 30-40 minutes on a shared one), most of it in the distances 500 and 1000;
    `LongRangeConfig.quick()` is the seconds-long version the tests run.
    """

    tasks: tuple = dataclasses.field(
        default=("recall_first",),
        metadata={"help": "generated tasks", "choices": sorted(tasks.TASKS)})
    models: tuple = dataclasses.field(
        default=models.MODEL_NAMES,
        metadata={"help": "models to compare", "choices": models.MODEL_NAMES})
    distances: tuple = dataclasses.field(
        default=(10, 50, 100, 200, 500, 1000),
        metadata={"help": "distances d between the needed token and the answer"})
    parameters: int = dataclasses.field(
        default=20_000, metadata={"help": "weights per model (each within 10%%)"})
    steps: int = dataclasses.field(
        default=150, metadata={"help": "most training steps per model and distance"})
    batch_size: int = dataclasses.field(default=16, metadata={"help": "sequences per step"})
    learning_rate: float = dataclasses.field(default=3e-3, metadata={"help": "Adam's rate"})
    stop_accuracy: float = dataclasses.field(
        default=0.99, metadata={"help": "stop once the mean accuracy of 20 steps reaches it"})
    eval_examples: int = dataclasses.field(
        default=512, metadata={"help": "held-out sequences per score"})
    seed: int = dataclasses.field(default=0, metadata={"help": "seed of data and weights"})

    @classmethod
    def quick(cls):
        return cls(
            models=("gru", "transformer"), distances=(10, 30), parameters=6_000, steps=30,
            batch_size=16, learning_rate=1e-2, eval_examples=64,
        )


_WINDOW = 20  # training steps in the running accuracy that stops training


def train(model, task, distance, steps, batch_size, learning_rate, stop_accuracy, seed):
    """Train `model` on fresh batches of `task` at `distance`; `(steps, seconds, CPU seconds)`.

    Stops after `steps` steps, or once the mean training accuracy of the last 20 steps
    reaches `stop_accuracy`.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(seed)
    recent = collections.deque(maxlen=_WINDOW)
    taken, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while taken < steps and not (
        len(recent) == _WINDOW and np.mean(recent) >= stop_accuracy
    ):
        inputs, answers = tasks.TASKS[task](batch_size, distance, rng)
        _, accuracy = model.train_on_batch(inputs, answers)
        recent.append(accuracy)
        taken += 1
    return taken, time.perf_counter() - start, time.process_time() - cpu_start


def score(model, task, distance, examples, seed):
    """Accuracy on `examples` held-out sequences (each answer token counts once)."""
    inputs, answers = tasks.generate(task, examples, distance, seed)
    logits = model.predict(inputs, batch_size=64, verbose=0)  # (n, answer_length, classes)
    return float(np.mean(np.argmax(logits, axis=-1) == answers))


def train_and_score(kind, task, distance, config, width):
    """Train one model on one task at one distance; its held-out accuracy and cost."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    model = models.build_model(
        kind, width, tasks.VOCABULARY_SIZE, tasks.ANSWER_LENGTHS[task], tasks.NUM_SYMBOLS
    )
    steps, seconds, cpu_seconds = train(
        model, task, distance, config.steps, config.batch_size, config.learning_rate,
        config.stop_accuracy, config.seed,
    )
    return {
        "accuracy": score(model, task, distance, config.eval_examples, config.seed + 1),
        "steps": steps,
        "train_seconds": round(seconds, 2),
        "train_cpu_seconds": round(cpu_seconds, 2),
        "seconds_per_step": round(seconds / steps, 4),
    }


def run(config=None, output=None):
    """Run the experiment; write `long_range.json` and `long_range.png` under `output`.

    Returns:
        A dict: `config`, `environment`, `parameters[task][model]`, `widths[task][model]`,
        `results[task][model][str(d)]` with `accuracy`, `steps`, `train_seconds`,
        `train_cpu_seconds`, `seconds_per_step`; `chance` (the accuracy of guessing);
        `total_seconds` and `total_cpu_seconds` of the run.
    """
    config = config or LongRangeConfig()
    output = pathlib.Path(output or "runs/experiments/long_range")
    start, cpu_start = time.perf_counter(), time.process_time()
    report = {
        "config": dataclasses.asdict(config),
        "environment": _common.environment(),
        "chance": 1.0 / tasks.NUM_SYMBOLS,
        "parameters": {},
        "widths": {},
        "results": {},
    }
    for task in config.tasks:
        answer_length = tasks.ANSWER_LENGTHS[task]
        report["parameters"][task], report["widths"][task] = {}, {}
        report["results"][task] = {}
        for kind in config.models:
            width = models.width_for(
                kind, config.parameters, tasks.VOCABULARY_SIZE, answer_length,
                tasks.NUM_SYMBOLS,
            )
            count = models.build_model(
                kind, width, tasks.VOCABULARY_SIZE, answer_length, tasks.NUM_SYMBOLS
            ).count_params()
            if abs(count - config.parameters) > 0.1 * config.parameters:
                print(f"warning: {kind} has {count} weights, more than 10% from "
                      f"{config.parameters}; the comparison is not at equal size", flush=True)
            report["widths"][task][kind] = width
            report["parameters"][task][kind] = count
            report["results"][task][kind] = {}
            for distance in config.distances:
                result = train_and_score(kind, task, distance, config, width)
                report["results"][task][kind][str(distance)] = result
                print(
                    f"{task} d={distance} {kind} ({count} weights): accuracy "
                    f"{result['accuracy']:.3f} after {result['steps']} steps, "
                    f"{result['train_seconds']:.1f} s", flush=True,
                )
    report["total_seconds"] = round(time.perf_counter() - start, 1)
    report["total_cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    return _common.publish(report, output, "long_range", plot, table)


def table(report):
    """Accuracy per task, model (rows) and distance (columns)."""
    distances = report["config"]["distances"]
    parts = []
    for task, by_model in report["results"].items():
        rows = [
            [kind, report["parameters"][task][kind],
             *(by_model[kind][str(d)]["accuracy"] for d in distances)]
            for kind in by_model
        ]
        header = ["model", "weights", *(f"d={d}" for d in distances)]
        parts.append(f"{task} (held-out accuracy, chance {report['chance']:.3f})\n"
                     + _common.format_table(header, rows))
    if "total_seconds" in report:
        parts.append(f"{report['total_seconds']:.0f} s wall, "
                     f"{report['total_cpu_seconds']:.0f} s CPU (all threads)")
    return "\n\n".join(parts)


def plot(report, path):
    """Accuracy against distance (log axis), one panel per task, one line per model."""
    task_names = list(report["results"])
    figure, axes = _common.subplots(1, len(task_names), figsize=(4.6 * len(task_names), 3.6),
                                squeeze=False, layout="constrained")
    for axis, task in zip(axes[0], task_names, strict=True):
        for kind, by_distance in report["results"][task].items():
            distances = [int(d) for d in by_distance]
            axis.plot(distances, [by_distance[str(d)]["accuracy"] for d in distances],
                      marker="o", label=models.DISPLAY_NAMES[kind])
        axis.axhline(report["chance"], color="gray", linestyle="--", label="chance")
        axis.set_xscale("log")
        axis.set_ylim(0, 1.05)
        axis.set_title(task.replace("_", " "))
        axis.set_xlabel("distance d (tokens)")
        axis.set_ylabel("held-out accuracy")
        axis.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8)
    figure.suptitle("Long-range dependencies: accuracy against distance")
    return _common.save_figure(figure, path)
