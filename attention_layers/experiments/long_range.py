"""Experiment 1: accuracy against the distance of the dependency, RNNs against attention.

The claim (Bengio et al. 1994; Hochreiter and Schmidhuber 1997; Vaswani et al. 2017, §4):
recurrent networks lose dependencies that span many steps, gated ones (LSTM, GRU) less so,
while attention reaches any position in one step. Here each model of `models.MODEL_NAMES`,
at the same parameter count, is trained from scratch on each task of `tasks.TASKS` at each
distance `d`, with the same data, batch size and optimizer, once per seed, and scored on
held-out sequences each time its step count passes one of the step budgets, so that one
run shows whether the answer still changes with the budget. Training stops early once the
running training accuracy reaches `stop_accuracy`, so solved problems do not spend the
budget. The figures are the mean, spread and range of the held-out accuracy over seeds.
"""

import collections
import dataclasses
import pathlib
import time

import keras
import numpy as np

from attention_layers.experiments import harness, models, tasks
from attention_layers.training.state import build_training_state


@dataclasses.dataclass(frozen=True)
class LongRangeConfig:
    """Sizes of the long-range experiment.

    The defaults are the full run: three seeds, and up to 5,000 steps per model, distance
    and seed. Runs that do not solve their task use the whole budget, so on two CPU cores
    this takes of the order of a day per task, most of it in the RNNs and the distances 500
    and 1000 (with `--budgets 150 --seeds 0` it took about 800 s of CPU time per task,
    10-15 minutes on two idle cores). `LongRangeConfig.quick()` is the seconds-long version
    the tests run.
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
    budgets: tuple = dataclasses.field(
        default=(150, 1000, 5000),
        metadata={"help": "step budgets at which the held-out accuracy is scored; one "
                          "training run per model, distance and seed goes to the largest, "
                          "and is scored when it passes each budget (a run stopped early by "
                          "--stop-accuracy keeps its final score for the larger budgets)"})
    batch_size: int = dataclasses.field(default=16, metadata={"help": "sequences per step"})
    learning_rate: float = dataclasses.field(default=3e-3, metadata={"help": "Adam's rate"})
    stop_accuracy: float = dataclasses.field(
        default=0.99, metadata={"help": "stop once the mean accuracy of 20 steps reaches it"})
    eval_examples: int = dataclasses.field(
        default=512, metadata={"help": "held-out sequences per score"})
    seeds: tuple = harness.seeds_field("trained")

    def __post_init__(self):
        budgets = self.budgets
        if not budgets or budgets[0] < 1 or list(budgets) != sorted(set(budgets)):
            raise ValueError(f"`budgets` must be positive and increasing; got {self.budgets}.")
        harness.check_seeds(self.seeds)

    @classmethod
    def quick(cls):
        return cls(
            models=("gru", "transformer"), distances=(10, 30), parameters=6_000,
            budgets=(10, 30), batch_size=16, learning_rate=1e-2, eval_examples=64,
            seeds=(0, 1),
        )


_WINDOW = 20  # training steps in the running accuracy that stops training
_HELD_OUT_SEED = 1000  # held-out sequences come from seed + this, never from a training seed


def train(model, task, distance, budgets, batch_size, learning_rate, stop_accuracy, seed,
          held_out):
    """Train `model` on fresh batches of `task` at `distance`, scoring it at each budget.

    Trains for up to `budgets[-1]` steps (`budgets` increasing), or until the mean training
    accuracy of the last 20 steps reaches `stop_accuracy`; the training batches are drawn
    from `seed`. Each time the step count reaches a budget the model is scored on
    `held_out`, `(tokens, answers)`; when training stops early, its final score stands for
    every budget not yet reached.

    Returns:
        `(accuracies, steps, seconds, cpu_seconds)`: the held-out accuracy per budget, the
        steps taken, and the training time (wall clock and CPU, scoring left out).
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    # The optimizer's and the metric's variables, built from the held-out arrays' shapes:
    # TensorFlow then traces the training step once, not twice (other backends: a no-op).
    build_training_state(model, held_out)
    rng = np.random.default_rng(seed)
    recent = collections.deque(maxlen=_WINDOW)
    accuracies, taken = [], 0
    scoring, scoring_cpu = 0.0, 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    while len(accuracies) < len(budgets):
        solved = len(recent) == _WINDOW and np.mean(recent) >= stop_accuracy
        if solved or taken == budgets[len(accuracies)]:
            wall, cpu = time.perf_counter(), time.process_time()
            accuracy = score(model, *held_out)
            scoring += time.perf_counter() - wall
            scoring_cpu += time.process_time() - cpu
            accuracies += [accuracy] * (len(budgets) - len(accuracies) if solved else 1)
            continue
        inputs, answers = tasks.TASKS[task](batch_size, distance, rng)
        _, training_accuracy = model.train_on_batch(inputs, answers)
        recent.append(training_accuracy)
        taken += 1
    seconds = time.perf_counter() - start - scoring
    return accuracies, taken, seconds, time.process_time() - cpu_start - scoring_cpu


def score(model, tokens, answers):
    """Accuracy on held-out `(tokens, answers)` (each answer token counts once)."""
    logits = model.predict(tokens, batch_size=64, verbose=0)  # (n, answer_length, classes)
    return float(np.mean(np.argmax(logits, axis=-1) == answers))


def train_and_score(kind, task, distance, config, width, seed):
    """Train one model on one task at one distance from one seed; its scores and cost."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = models.build_model(
        kind, width, tasks.VOCABULARY_SIZE, tasks.ANSWER_LENGTHS[task], tasks.NUM_SYMBOLS
    )
    held_out = tasks.generate(task, config.eval_examples, distance, seed + _HELD_OUT_SEED)
    accuracies, steps, seconds, cpu_seconds = train(
        model, task, distance, config.budgets, config.batch_size, config.learning_rate,
        config.stop_accuracy, seed, held_out,
    )
    return {
        "by_budget": dict(zip(config.budgets, accuracies, strict=True)),
        "steps": steps,
        "train_seconds": round(seconds, 2),
        "train_cpu_seconds": round(cpu_seconds, 2),
    }


def over_seeds(runs, budgets):
    """One cell of the report from the `train_and_score` results of each seed."""
    return {
        "accuracy": harness.spread([run["by_budget"][budgets[-1]] for run in runs]),
        "by_budget": {str(budget): harness.spread([run["by_budget"][budget] for run in runs])
                      for budget in budgets},
        "steps": [run["steps"] for run in runs],
        "train_seconds": [run["train_seconds"] for run in runs],
        "train_cpu_seconds": [run["train_cpu_seconds"] for run in runs],
        "seconds_per_step": [round(run["train_seconds"] / run["steps"], 4) for run in runs],
    }


def run(config=None, output=None):
    """Run the experiment; write `long_range.json`, `long_range.png` and
    `long_range_budgets.png` under `output`.

    Returns:
        A dict: `config`, `environment`, `parameters[task][model]`, `widths[task][model]`,
        `results[task][model][str(d)]` with `accuracy` (the held-out accuracy at the largest
        budget over seeds: `mean`, `std`, `min`, `max` and the per-seed `values`, as
        `harness.spread` gives them), `by_budget[str(budget)]` (the same at each budget),
        and per seed, in the order of `config.seeds`, `steps`, `train_seconds`,
        `train_cpu_seconds` and `seconds_per_step`; `chance` (the accuracy of guessing);
        `total_seconds` and `total_cpu_seconds` of the run.
    """
    config = config or LongRangeConfig()
    output = pathlib.Path(output or "runs/experiments/long_range")
    start, cpu_start = time.perf_counter(), time.process_time()
    report = {
        "config": dataclasses.asdict(config),
        "environment": harness.environment(),
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
                runs = []
                for seed in config.seeds:
                    runs.append(train_and_score(kind, task, distance, config, width, seed))
                    print(f"{task} d={distance} {kind} seed {seed}: accuracy "
                          f"{runs[-1]['by_budget'][config.budgets[-1]]:.3f} after "
                          f"{runs[-1]['steps']} steps, {runs[-1]['train_seconds']:.1f} s",
                          flush=True)
                result = over_seeds(runs, config.budgets)
                report["results"][task][kind][str(distance)] = result
                accuracy = result["accuracy"]
                print(
                    f"{task} d={distance} {kind} ({count} weights): accuracy "
                    f"{accuracy['mean']:.3f} ± {accuracy['std']:.3f} over "
                    f"{harness.seeds_text(config.seeds)} (min {accuracy['min']:.3f}), "
                    f"{min(result['steps'])}-{max(result['steps'])} steps", flush=True,
                )
    report["total_seconds"] = round(time.perf_counter() - start, 1)
    report["total_cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    return harness.publish(report, output, "long_range", plot, table)


def table(report):
    """Per task: the accuracy at the largest budget, mean ± std over seeds, per model (rows)
    and distance (columns); then the mean accuracy at each budget."""
    config = report["config"]
    distances, budgets, seeds = config["distances"], config["budgets"], config["seeds"]
    parts = []
    for task, by_model in report["results"].items():
        rows = [
            [kind, report["parameters"][task][kind],
             *(_mean_and_std(by_model[kind][str(d)]["accuracy"]) for d in distances)]
            for kind in by_model
        ]
        header = ["model", "weights", *(f"d={d}" for d in distances)]
        parts.append(
            f"{task}: held-out accuracy after at most {budgets[-1]} steps, mean ± std over "
            f"{harness.seeds_text(seeds)} ({', '.join(map(str, seeds))}); chance "
            f"{report['chance']:.3f}\n" + harness.format_table(header, rows))
        rows = [
            [kind, budget,
             *(f"{by_model[kind][str(d)]['by_budget'][str(budget)]['mean']:.2f}"
               for d in distances)]
            for kind in by_model for budget in budgets
        ]
        header = ["model", "budget", *(f"d={d}" for d in distances)]
        parts.append(f"{task}: budget sweep, mean held-out accuracy after at most `budget` "
                     f"steps (a run that stopped early keeps its final score)\n"
                     + harness.format_table(header, rows))
    if "total_seconds" in report:
        parts.append(f"{report['total_seconds']:.0f} s wall, "
                     f"{report['total_cpu_seconds']:.0f} s CPU (all threads)")
    return "\n\n".join(parts)


def _mean_and_std(spread):
    return f"{spread['mean']:.2f} ± {spread['std']:.2f}"


def plot(report, path):
    """Two figures of the held-out accuracy against distance (log axis), one panel per task.

    `path`: accuracy at the largest budget, one line per model (the mean over seeds) with
    its min-max band. `<path stem>_budgets.png` beside it: one panel per task and model, one
    line per budget (the mean over seeds), to show what a larger budget changes.

    Returns:
        The two paths.
    """
    path = pathlib.Path(path)
    return (_plot_largest_budget(report, path),
            _plot_budgets(report, path.with_name(f"{path.stem}_budgets.png")))


def _plot_largest_budget(report, path):
    task_names = list(report["results"])
    figure, axes = harness.subplots(1, len(task_names), figsize=(4.6 * len(task_names), 4),
                                    squeeze=False, layout="constrained")
    for axis, task in zip(axes[0], task_names, strict=True):
        for kind, by_distance in report["results"][task].items():
            distances = [int(d) for d in by_distance]
            accuracy = [by_distance[str(d)]["accuracy"] for d in distances]
            line, = axis.plot(distances, [cell["mean"] for cell in accuracy], marker="o",
                              label=models.DISPLAY_NAMES[kind])
            axis.fill_between(distances, [cell["min"] for cell in accuracy],
                              [cell["max"] for cell in accuracy], color=line.get_color(),
                              alpha=0.2, linewidth=0)
        _accuracy_axes(axis, report["chance"], distances)
        axis.set_title(task.replace("_", " "))
    handles, labels = axes[0][-1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", fontsize=8,
                  ncols=min(len(labels), 2 * len(task_names)))
    config = report["config"]
    figure.suptitle(f"Long-range dependencies: accuracy against distance\nafter at most "
                    f"{config['budgets'][-1]} steps, mean and range of "
                    f"{harness.seeds_text(config['seeds'])}")
    return harness.save_figure(figure, path)


def _plot_budgets(report, path):
    task_names = list(report["results"])
    kinds = list(dict.fromkeys(kind for task in task_names for kind in report["results"][task]))
    budgets = report["config"]["budgets"]
    colors = [f"C{index}" for index in range(len(budgets))]
    size = (2.4 * len(kinds) + 1, 2.2 * len(task_names) + 0.8)
    figure, axes = harness.subplots(
        len(task_names), len(kinds), figsize=size, squeeze=False, sharex=True, sharey=True,
        layout="constrained",
    )
    for axis, kind in zip(axes[0], kinds, strict=True):
        axis.set_title(models.DISPLAY_NAMES[kind], fontsize=9)
    for row, task in zip(axes, task_names, strict=True):
        for axis, kind in zip(row, kinds, strict=True):
            by_distance = report["results"][task].get(kind, {})
            distances = [int(d) for d in by_distance]
            for budget, color in zip(budgets, colors, strict=True):
                axis.plot(distances,
                          [by_distance[str(d)]["by_budget"][str(budget)]["mean"]
                           for d in distances],
                          marker="o", markersize=3, color=color,
                          label=f"budget {budget} steps")
            _accuracy_axes(axis, report["chance"], distances)
            axis.label_outer()
        row[0].set_ylabel(f"{task.replace('_', ' ')}\nheld-out accuracy")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", fontsize=8, ncols=len(labels))
    figure.suptitle(f"Long-range dependencies: accuracy after each step budget (mean of "
                    f"{harness.seeds_text(report['config']['seeds'])})")
    return harness.save_figure(figure, path)


def _accuracy_axes(axis, chance, distances):
    from matplotlib.ticker import NullFormatter

    axis.axhline(chance, color="gray", linestyle="--", label="chance")
    axis.set_xscale("log")
    axis.set_xticks(distances, [str(d) for d in distances], fontsize=7)
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set_ylim(0, 1.05)
    axis.set_xlabel("distance d (tokens)")
    axis.set_ylabel("held-out accuracy")
    axis.grid(alpha=0.3)
