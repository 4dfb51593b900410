"""The measuring harness that the experiments and `benchmarks/` share.

What a figure was measured on (`environment`, `load_average_text`), interleaved timings
with both clocks, CPU time, peak memory, one measurement in a fresh process (`run_in_subprocess`),
configs on the command line, output files, tables, figures and spreads over seeds.
"""

import argparse
import dataclasses
import json
import os
import pathlib
import platform
import sys
import time

import keras
import numpy as np


def environment():
    """What the figures were measured on: backend, device, versions, CPU count."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = str(jax.devices()[0])
    elif backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        device = gpus[0].name if gpus else "CPU"
    else:
        device = "unknown"
    return {
        "backend": backend,
        "device": device,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "command": _command(),
    }


def _command():
    """The command line, as `python -m attention_layers.experiments ...` when run so."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name == "attention_layers.experiments.__main__":
        return " ".join(["python -m attention_layers.experiments", *sys.argv[1:]])
    return " ".join(["python", *sys.argv])


def load_average_text(averages=None):
    """`os.getloadavg()` (or `averages`, a recorded one) as "1.23, 1.45, 1.67": the 1-, 5-
    and 15-minute load, printed beside timings so a reader can judge the machine."""
    return ", ".join(f"{value:.2f}" for value in (averages or os.getloadavg()))


def on_gpu():
    """Whether the current backend computes on a GPU."""
    return "cpu" not in environment()["device"].lower()


def write_json(path, payload):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=_to_builtin) + "\n")
    return path


def publish(report, output, name, plot, table):
    """Writes `<name>.json` and the `plot` `<name>.png` under `output`, prints the `table`
    of the report, and returns the report."""
    write_json(output / f"{name}.json", report)
    plot(report, output / f"{name}.png")
    print(table(report))
    return report


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"Cannot write {type(value).__name__} to JSON.")


def format_table(header, rows):
    """A plain-text table with right-aligned columns (markdown-compatible pipes)."""
    cells = [[str(cell) for cell in header]] + [[_cell(cell) for cell in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(header))]

    def line(row):
        return "| " + " | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def subplots(nrows=1, ncols=1, *, figsize, **kwargs):
    """`(figure, axes)` of a `matplotlib.figure.Figure`, as `pyplot.subplots` gives them.

    The figure is built without pyplot, so drawing a plot needs no display and leaves the
    caller's matplotlib backend alone (a notebook's inline plots keep working).
    """
    from matplotlib.figure import Figure

    layout = kwargs.pop("layout", None)
    figure = Figure(figsize=figsize, layout=layout)
    return figure, figure.subplots(nrows, ncols, **kwargs)


def save_figure(figure, path):
    """Write a PNG small enough to keep in the repository (< 200 KB)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90, bbox_inches="tight")
    return path


def interleaved_seconds(steps, repeats, warmup=1):
    """Run each callable of `steps` (a dict) `repeats` times, round-robin; seconds per call.

    Interleaving spreads a noisy neighbour's load over every variant instead of one, and
    the round order alternates so that none always runs first.
    """
    return {name: times["wall"] for name, times in
            interleaved_timings(steps, repeats, warmup).items()}


def interleaved_timings(steps, repeats, warmup=1):
    """As `interleaved_seconds`, with both clocks: `{name: {"wall": [...], "cpu": [...]}}`.

    `cpu` is this process's CPU time (all threads) per call: the work done, which other
    processes on a shared machine disturb far less than the wall-clock time.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    timings = {name: {"wall": [], "cpu": []} for name in steps}
    names = list(steps)
    for round_index in range(repeats):
        for name in names if round_index % 2 == 0 else reversed(names):
            wall, cpu = time.perf_counter(), time.process_time()
            steps[name]()
            timings[name]["cpu"].append(time.process_time() - cpu)
            timings[name]["wall"].append(time.perf_counter() - wall)
    return timings


# --- configs on the command line -------------------------------------------------------


def add_config_arguments(parser, config_class):
    """One `--field-name` option per field of the dataclass `config_class`.

    Tuples take several values; each field's `metadata["help"]` is its help text and
    `metadata["choices"]`, if any, the values allowed.
    """
    defaults, quick = config_class(), config_class.quick()
    for field in dataclasses.fields(config_class):
        value = getattr(defaults, field.name)
        option = "--" + field.name.replace("_", "-")
        text = field.metadata.get("help", "")
        text += f" (default: {_show(value)}; --quick: {_show(getattr(quick, field.name))})"
        if isinstance(value, tuple):
            item_type = type(value[0]) if value else str
            parser.add_argument(option, nargs="+", type=item_type, default=None, help=text,
                                choices=field.metadata.get("choices"))
        elif isinstance(value, bool):
            parser.add_argument(option, action=argparse.BooleanOptionalAction, default=None,
                                help=text)
        else:
            parser.add_argument(option, type=type(value), default=None, help=text)
    parser.add_argument("--quick", action="store_true",
                        help="the small configuration the tests run (seconds, not minutes)")
    parser.add_argument("--output", default=None,
                        help="folder for the JSON figures and PNG plots "
                             "(default: runs/experiments/<experiment>)")


def seeds_field(each):
    """The `seeds` field of an experiment's config: three seeds by default, each seeding the
    data and the weights; `each` says what is done once per seed ("trained", "measured")."""
    return dataclasses.field(
        default=(0, 1, 2),
        metadata={"help": f"seeds of data and weights; each model is {each} once per seed"})


def check_seeds(seeds):
    """`ValueError` unless `seeds` names at least one seed."""
    if not seeds:
        raise ValueError("`seeds` must name at least one seed.")


def config_from_args(config_class, args):
    """The config of `--quick` or the defaults, with the options given on the command line."""
    config = config_class.quick() if args.quick else config_class()
    overrides = {}
    for field in dataclasses.fields(config_class):
        value = getattr(args, field.name)
        if value is not None:
            overrides[field.name] = tuple(value) if isinstance(value, list) else value
    return dataclasses.replace(config, **overrides)


def _show(value):
    return " ".join(map(str, value)) if isinstance(value, tuple) else str(value)


# --- measurements in a fresh process ---------------------------------------------------


def peak_rss_mb():
    """This process's peak resident memory so far, in MiB.

    Read from `VmHWM` in `/proc/self/status` on Linux: `ru_maxrss` would not do, because
    Linux carries a parent's peak into a child across `fork` and `exec`, so a worker
    started from a large process would report the parent's peak.
    """
    status = pathlib.Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def cpu_seconds():
    """User + system CPU time of this process so far (all its threads), in seconds."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def device_peak_mb():
    """Peak memory of the accelerator so far in MiB (JAX or TensorFlow GPU), else `None`."""
    if not on_gpu():
        return None
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
    elif backend == "tensorflow":
        import tensorflow as tf

        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"]
    else:
        peak = None
    return None if peak is None else peak / 2**20


def run_in_subprocess(target, backend=None, timeout=1800, **kwargs):
    """Call `target` ("package.module:function") with `kwargs` in a fresh Python process.

    A fresh process is how peak memory is measured honestly: its `ru_maxrss` holds only
    what that one computation needed on top of the runtime. `backend` sets
    `KERAS_BACKEND` there (default: the current one). Returns the function's JSON result.
    """
    import subprocess

    env = dict(os.environ, KERAS_BACKEND=backend or keras.backend.backend())
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    root = str(pathlib.Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    spec = json.dumps({"target": target, "kwargs": kwargs})
    completed = subprocess.run(
        [sys.executable, "-m", "attention_layers.experiments._worker", spec],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(_RESULT_PREFIX):
            return json.loads(line[len(_RESULT_PREFIX):])
    raise RuntimeError(
        f"{target} failed in a subprocess (exit {completed.returncode}):\n"
        + completed.stderr[-3000:]
    )


_RESULT_PREFIX = "RESULT "


# --- several seeds ---------------------------------------------------------------------


def spread(values):
    """`{"mean", "std", "min", "max", "values"}` of one measurement repeated over seeds.

    `values` holds one number (or one equal-shaped list of numbers, reduced element-wise)
    per seed. `std` is the sample standard deviation (`ddof=1`), 0 for a single seed.
    """
    values = np.asarray(values, dtype=float)  # (seeds, ...)
    std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1:])
    return {
        "mean": values.mean(axis=0).tolist(),
        "std": np.asarray(std).tolist(),
        "min": values.min(axis=0).tolist(),
        "max": values.max(axis=0).tolist(),
        "values": values.tolist(),
    }


def seeds_text(seeds):
    """`"1 seed"`, `"3 seeds"`: how many runs a mean is over."""
    return f"{len(seeds)} seed{'' if len(seeds) == 1 else 's'}"
