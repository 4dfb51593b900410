"""The end of a run: the `.keras` model, the serving export and `results.json`, each written
whole or not at all, and the closing summary."""

import json
import os
import pathlib
import shlex
import subprocess
import sys

import keras
import numpy as np

from attention_layers.training.checkpoints import TrainingDiverged
from attention_layers.training.tasks.base import task_of_config, task_path
from attention_layers.utils.files import atomic_write_text, saving, write_atomically


def all_finite(model):
    """Whether every weight of `model` is finite (no NaN, no inf)."""
    return all(np.isfinite(weights).all() for weights in model.get_weights())


def export_in_tensorflow(output, task):
    """Writes a new version `OUTPUT/serving/<N>` from the saved run in a TensorFlow-backend
    subprocess (`export_run`); returns its path.

    The export is a TensorFlow SavedModel; a model trained on another backend is loaded
    from its `.keras` file into TensorFlow, which reads the same weights.
    """
    package_root = pathlib.Path(__file__).resolve().parents[2]
    environment = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(package_root), os.environ.get("PYTHONPATH")])
        ),
    }
    subprocess.run(
        [sys.executable, "-m", "attention_layers.training.runner", "export", str(output),
         task_path(task)],
        env=environment, check=True,
    )
    from attention_layers.export.saving import latest_version

    return latest_version(output / "serving")[1]


def export_run(output, task=None):
    """Writes the finished run's serving export as a new version in `OUTPUT/serving/`
    (TensorFlow Serving's layout, see `attention_layers.export.export_new_version`);
    returns its path, e.g. `OUTPUT/serving/2`. `task`: the run's `Task`, by default the one
    its `config.json` names (see `load_task`)."""
    output = pathlib.Path(output)
    task, config, tokenizers = read_finished_run(output, task)
    model = keras.saving.load_model(output / f"{task.name}.keras")
    return export_version(task, config, model, tokenizers, output)


def read_finished_run(output, task=None):
    """`(task, config, tokenizers)` of the run in folder `output`: its `Task` (`task`, by
    default the one its `config.json` names), the task's config from `config.json` (with
    the values that a run written before a flag lacks, `TaskFlags.saved_defaults`) and the
    tokenizers read back from the folder."""
    saved = json.loads((output / "config.json").read_text())
    task = task or task_of_config(saved)
    config = task.config_class.from_flags({**task.flags.saved_defaults, **saved})
    return task, config, task.tokenizers(config, folder=output)


def export_version(task, config, model, tokenizers, output):
    """Writes `model`'s export as the next version in `OUTPUT/serving/`; returns its path.

    The previous version stays until the new one is whole; then all but the newest
    `KEEP_VERSIONS` (2) are removed.
    """
    from attention_layers.export.saving import export_new_version

    return export_new_version(
        output / "serving", lambda path: task.export(config, model, tokenizers, path)
    )


def save_run(task, config, settings, model, tokenizers, results, output, files=None):
    """Writes the model, the export, the evaluation's `files` (`{name: bytes}`, e.g. a
    plot) and `results.json`; returns `{what: path}`. `config`: the task's config,
    `settings`: the run's `RunSettings` (`no_export`).

    Each file is written whole or not at all, so a failure keeps the previous one.

    Raises:
        TrainingDiverged: the model's weights are not finite (nothing is written).
        SaveError: a file could not be written (disk full, permissions); it names the file.
    """
    if not all_finite(model):
        raise TrainingDiverged("the trained model's weights are not finite; nothing was saved")
    paths = {"model": output / f"{task.name}.keras"}
    with saving(paths["model"]):
        write_atomically(paths["model"], model.save)
    print(f"Saved {paths['model']}")
    if not settings.no_export:
        with saving(output / "serving"):
            if keras.backend.backend() == "tensorflow":
                paths["export"] = export_version(task, config, model, tokenizers, output)
            else:
                print("Exporting with the TensorFlow backend (a SavedModel is TensorFlow's) ...")
                paths["export"] = export_in_tensorflow(output, task)
        print(f"Saved the serving export in {paths['export']}")
    for name, content in (files or {}).items():
        paths[name] = output / name
        with saving(paths[name]):
            write_atomically(paths[name], lambda path, content=content: path.write_bytes(content))
    paths["results"] = output / "results.json"
    with saving(paths["results"]):
        atomic_write_text(paths["results"], json.dumps(results, indent=2))
    return paths


def serving_example(task, export, example=None):
    """A shell command that serves the run whose export is in `export` (`OUTPUT/serving/N`),
    and a request for it: `example`, one input of the run's own data (so that a French or a
    topic classifier is not shown a Spanish or a sentiment sentence), else the task's
    `serving_request`; quoted for a POSIX shell."""
    command = f"python -m attention_layers serve {export.parent.parent}"
    if example is not None:
        request = json.dumps({"instances": [example]}, ensure_ascii=False)
    elif task.serving_request is not None:
        request = task.serving_request
    else:
        return command
    return (f"{command}  # then: curl -d {shlex.quote(request)} "
            f"localhost:8501/v1/models/{task.name}:predict")


def print_summary(task, headline, paths, output, data_note="", example=None):
    """The closing lines: the `headline` figure (`Evaluation.headline`), where everything
    is, what to run next; `data_note` says what the run left out of the data
    (`DataReport.note`); `example` is the serving request's input (`Evaluation.example`)."""
    lines = [f"\nDone: {headline} (details in {paths['results']})",
             f"  model:       {paths['model']}"]
    if data_note:
        lines.append(f"  data:        {data_note}")
    if "export" in paths:
        lines.append(f"  export:      {paths['export']}")
    for name in sorted(set(paths) - {"model", "export", "results"}):
        if not name.startswith("attention/"):  # the attention line below names the view
            lines.append(f"  figure:      {paths[name]}")
    plots = sorted(output.rglob("attention/epoch_*"))
    if plots:
        views = sorted(output.rglob("attention/*.html"))
        lines.append(f"  attention:   {plots[-1].parent} (PNG per epoch, GIF"
                     + (f", HTML view {views[0]}" if views else "") + ")")
    lines.append(f"  TensorBoard: tensorboard --logdir {output / 'logs'}")
    if "export" in paths:
        lines.append(f"  serve:       {serving_example(task, paths['export'], example)}")
    print("\n".join(lines))

