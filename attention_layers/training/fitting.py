"""Fitting a run's model, or each member of an ensemble: the runner's third step.

For each model, `train_member`:

1. makes what the task trains with (`Task.member`: datasets, model, compile arguments,
   attention callback) inside the plan's distribution scope, and compiles the model there
   (`compiled_member`);
2. restores its last checkpoint (`EpochCheckpoint.start`: `--resume`), or clears old ones;
3. builds the training state once (`build_training_state`: one trace of the step, not two)
   and calls `fit` with per-epoch checkpoints, early stopping, the time limit and the
   attention plots (`make_callbacks`), ending with the best epoch's weights;
4. says how training ended and how long it took (`training_time`); a diverged epoch ends
   the run with `TrainingDiverged` saying what was kept (`diverged_message`).
"""

import time

import keras

from attention_layers.data.pipelines import known_steps
from attention_layers.training.callbacks import (
    TrainingTimeLimit,
    make_callbacks,
    progress_verbosity,
)
from attention_layers.training.checkpoints import EpochCheckpoint, TrainingDiverged
from attention_layers.training.state import build_training_state
from attention_layers.training.tasks.base import MemberRun


def averaging(weight_averaging=0):
    """The optimizer's options that keep a moving average of the weights when
    `weight_averaging` (`--weight-averaging STEPS`) is above 0 (momentum `1 - 1/STEPS`);
    `{}` without."""
    steps = weight_averaging or 0
    return {"use_ema": True, "ema_momentum": 1 - 1 / steps} if steps else {}


def train(task, config, settings, data, output, plan):
    """Trains the run's model, or each member of `--ensemble M` in `OUTPUT/member_I`;
    `data`: the task's `TaskData`.

    Returns:
        `(members, training_seconds, datasets)`: the trained models, the seconds of
        training and the last member's `DatasetSplits`.
    """
    count = (settings.ensemble or 1) if task.ensembles else 1
    max_seconds = None
    if settings.max_minutes:
        max_seconds = 60 * settings.max_minutes / count  # each member an equal share
    members, seconds = [], 0.0
    for index in range(count):
        # One member: the run's own folder; several: one folder each.
        run = output if count == 1 else output / f"member_{index}"
        if count > 1:
            print(f"\n--- Member {index + 1} of {count} (seed {settings.seed + index}) ---")
        model, member_seconds, datasets = train_member(
            task, config, settings, data, run, settings.seed + index, plan, max_seconds
        )
        members.append(model)
        seconds += member_seconds
    return members, seconds, datasets


def train_member(task, config, settings, data, run, seed, plan, max_seconds=None):
    """Trains (or resumes, or reloads when finished) one model in folder `run`, for at
    most `max_seconds` of training when given (`--max-minutes`). `data`: the task's
    `TaskData`.

    Returns:
        `(model, training_seconds, datasets)`: the model with its best epoch's weights,
        the seconds of training (a resumed run's include those before `--resume`) and
        the `DatasetSplits` it trained on.
    """
    keras.utils.set_random_seed(seed)
    member = compiled_member(task, config, settings, data, run, seed, plan)
    model, datasets = member.model, known_steps(member.datasets)
    print(f"Model: {config.describe_model() or task.name}, {model.count_params():,} "
          f"parameters, dtype policy {plan.precision}" + (", XLA" if plan.jit_compile else ""))
    checkpoint = EpochCheckpoint(run / "checkpoints", run_id=settings.run_id)
    with plan.scope():  # restoring builds the optimizer's variables: mirrored ones
        initial_epoch, finished = checkpoint.start(model, settings.resume, settings.epochs)
    if settings.resume:
        step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        print(f"Resuming after epoch {initial_epoch} (optimizer step {step})")
    callbacks = make_callbacks(
        run, checkpoint, patience=settings.patience or None, resume=settings.resume,
        tensorboard=plan.is_chief, max_seconds=max_seconds,
        averaged_weights=bool(settings.weight_averaging),
    )
    if member.attention_callback is not None:
        callbacks.append(member.attention_callback)
    if finished:  # `model` holds the best epoch's weights
        print(f"Training already finished after epoch {initial_epoch}; evaluating.")
        return model, 0.0, datasets
    build_training_state(model, datasets.train)  # one trace of the training step, not two
    start = time.perf_counter()
    try:
        model.fit(
            datasets.train, validation_data=datasets.validation, epochs=settings.epochs,
            initial_epoch=initial_epoch, callbacks=callbacks, shuffle=False,
            verbose=progress_verbosity(),
        )
    except TrainingDiverged:
        raise TrainingDiverged(diverged_message(settings, checkpoint)) from None
    seconds = training_time(time.perf_counter() - start, checkpoint, callbacks, initial_epoch)
    return model, seconds, datasets


def compiled_member(task, config, settings, data, run, seed, plan):
    """The task's `Member` for the model trained in folder `run`, made inside the plan's
    distribution scope, its model compiled there."""
    plots = plan.is_chief and not settings.no_attention_plots
    with plan.scope():
        member = task.member(config, data, MemberRun(
            run, seed, plan.batch_multiple, averaging(settings.weight_averaging), plots))
        member.model.compile(**member.compile_args, **plan.compile_kwargs())
    return member


def training_time(seconds, checkpoint, callbacks, initial_epoch):
    """Says how training ended and how long it took; returns the seconds of training (a
    resumed run's include those before `--resume`)."""
    limit = next((c for c in callbacks if isinstance(c, TrainingTimeLimit)), None)
    if limit is not None and limit.stopped:
        best = checkpoint.state["best_epoch"]
        print(f"Stopped by --max-minutes after {checkpoint.training_seconds / 60:.1f} min of "
              f"training, in epoch {checkpoint.state['epoch']}; keeping epoch {best}'s weights "
              "(lowest validation loss)")
    if initial_epoch:  # the epochs before --resume count too
        total = max(seconds, checkpoint.training_seconds)
        print(f"Training took {seconds:.0f} s ({total:.0f} s in all, with the "
              f"{initial_epoch} epoch(s) before --resume)")
        return total
    print(f"Training took {seconds:.0f} s")
    return seconds


def diverged_message(settings, checkpoint):
    """What went wrong in a diverged run, what it kept, and what to do."""
    state = checkpoint.state
    if state:
        kept = (f"the checkpoint of epoch {state['epoch']} in {checkpoint.directory} is kept "
                f"(best: epoch {state['best_epoch']}, validation loss {state['best']:.4g})")
    else:
        kept = "no epoch finished, so no checkpoint was written"
    return (f"training diverged: {checkpoint.diverged}. Nothing of it was saved: {kept}; "
            "the model, the export and results.json were not written (earlier ones are as "
            f"they were). Train again with a lower --learning-rate (this run's: "
            f"{settings.learning_rate:g}).")
