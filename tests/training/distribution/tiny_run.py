"""Trains a tiny Transformer translator for a few steps under the scale flags given and
saves its per-epoch losses and final weights, so that runs on 1 and N devices can be
compared. Run as `python -m tests.training.distribution.tiny_run OUTPUT.npz [scale flags]
[--then-one-device ONE.npz]` from the repository root: logical devices must be set up
before TensorFlow or JAX start, so the scale flags' configuration is set up first; with
`--then-one-device` the same process then trains the same model again without a
distribution (one device, the others left idle) and saves that run to `ONE.npz`, which
saves a second process's start-up. Each file records on how many devices the model's
first variable lives (`devices`), so a distribution left over from the first run would be
seen.
"""

import argparse
import copy
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from attention_layers.training.devices import exact_float32  # noqa: E402
from attention_layers.training.distribution import add_scale_flags, configure_scale  # noqa: E402

VOCABULARY, LENGTH, EXAMPLES = 24, 6, 64


def tiny_data(seed=0):
    """Token ids in 1..VOCABULARY-1 (no padding: every replica averages the same count)."""
    rng = np.random.default_rng(seed)
    source = rng.integers(1, VOCABULARY, size=(EXAMPLES, LENGTH))
    target = np.concatenate([source[:, :1] * 0 + 2, source[:, ::-1]], axis=1)  # reversal
    return (source, target[:, :-1]), target[:, 1:]


def variable_devices(variable):
    """On how many devices `variable` lives (a mirrored or sharded one: on each replica's)."""
    value = variable.value
    if keras.backend.backend() == "jax":
        return len(value.devices())
    return len(getattr(value, "values", [value]))  # a MirroredVariable has one per replica


def train_and_save(args, plan, output):
    from attention_layers.models import TransformerTranslator
    from attention_layers.training.metrics import masked_loss

    print(plan.describe())
    keras.utils.set_random_seed(7)
    with plan.scope():
        model = TransformerTranslator(
            VOCABULARY, VOCABULARY, num_layers=1, model_dim=16, num_heads=2,
            feed_forward_dim=32, dropout=0.0,
        )
        model.compile(
            keras.optimizers.Adam(args.learning_rate), masked_loss(), **plan.compile_kwargs()
        )
    inputs, target = tiny_data()
    history = model.fit(
        inputs, target, batch_size=args.batch_size, epochs=args.epochs, shuffle=False,
        verbose=0,
    )
    weights = {
        f"w{index}": np.asarray(keras.ops.convert_to_numpy(weight), dtype="float32")
        for index, weight in enumerate(model.weights)
    }
    np.savez(
        output, loss=np.array(history.history["loss"]), replicas=plan.num_replicas,
        devices=variable_devices(model.weights[0]), description=plan.describe(), **weights,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--then-one-device", metavar="ONE.npz")
    add_scale_flags(parser)
    args = parser.parse_args()
    plan = configure_scale(args)
    exact_float32()
    train_and_save(args, plan, args.output)
    if args.then_one_device:
        if keras.backend.backend() == "jax":
            keras.distribution.set_distribution(None)  # the data parallelism set up above
        one = copy.copy(args)
        one.distribution, one.replicas = "none", None
        train_and_save(one, configure_scale(one), args.then_one_device)


if __name__ == "__main__":
    main()
