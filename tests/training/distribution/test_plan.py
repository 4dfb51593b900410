"""The scale flags and the plan they make on one CPU; mixed policies train without NaN."""

import argparse
import json

import keras
import numpy as np
import pytest

from attention_layers.training.distribution import ScalePlan, add_scale_flags, configure_scale
from attention_layers.training.state import build_training_state
from tests.training.distribution.tiny_run import VOCABULARY, tiny_data


def parse(*flags):
    parser = argparse.ArgumentParser()
    add_scale_flags(parser)
    return parser.parse_args(list(flags))


def test_flags_defaults_and_aliases():
    args = parse()
    assert (args.distribution, args.replicas, args.precision) == ("auto", None, "float32")
    assert (args.jit_compile, args.steps_per_execution) == ("auto", 1)
    assert parse("--mixed-precision").precision == "mixed_float16"
    assert parse("--jit-compile").jit_compile == "on"
    assert parse("--jit-compile", "off").jit_compile == "off"
    assert parse("--precision", "mixed_bfloat16").precision == "mixed_bfloat16"
    for bad in (["--distribution", "ring"], ["--precision", "float16"], ["--replicas", "0"],
                ["--steps-per-execution", "0"]):
        with pytest.raises(SystemExit):
            parse(*bad)


def test_one_cpu_plan():
    plan = configure_scale(parse("--steps-per-execution", "4", "--precision", "mixed_bfloat16"))
    assert (plan.distribution, plan.num_replicas, plan.is_chief) == ("none", 1, True)
    # auto: XLA on for JAX, and for TensorFlow only on GPUs.
    assert plan.compile_kwargs() == {
        "jit_compile": keras.backend.backend() == "jax", "steps_per_execution": 4,
    }
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    # The device is the machine's (a GPU when there is one), not assumed to be a CPU.
    assert plan.device_kind in ("CPU", "GPU", "TPU")
    assert plan.describe().startswith(
        f"One device ({plan.device_kind}) (1 replica), mixed_bfloat16, XLA "
    )
    assert plan.batch_multiple == 1
    with plan.scope():
        assert keras.layers.Dense(2).dtype_policy.name == "mixed_bfloat16"


def test_workers_write_apart_from_the_chief(tmp_path):
    chief = ScalePlan("multi-worker", "float32", False, 1, num_replicas=2, num_workers=2)
    worker = ScalePlan("multi-worker", "float32", False, 1, num_replicas=2, num_workers=2,
                       worker_index=1)
    assert chief.is_chief and not worker.is_chief
    assert chief.worker_dir(tmp_path) == tmp_path
    assert worker.worker_dir(tmp_path) == tmp_path / "workers" / "worker_1"
    assert "in 2 workers (this is worker 1)" in worker.describe()


def test_multi_worker_needs_a_cluster(monkeypatch):
    from attention_layers.training import distribution

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        distribution._cluster()
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]},
        "task": {"type": "worker", "index": 1},
    }))
    assert distribution._cluster() == (["a:1", "b:1", "c:1"], 2)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {}, "task": {}}))
    with pytest.raises(ValueError, match="cluster of workers"):
        distribution._cluster()


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_policies_train_without_nan(precision):
    from attention_layers.models import TransformerTranslator
    from attention_layers.training.metrics import masked_loss

    plan = configure_scale(parse("--precision", precision, "--distribution", "none"))
    with plan.scope():
        model = TransformerTranslator(VOCABULARY, VOCABULARY, num_layers=1, model_dim=16,
                                      num_heads=2, feed_forward_dim=32, dropout=0.0)
        model.compile(keras.optimizers.Adam(1e-2), masked_loss(), **plan.compile_kwargs())
    inputs, target = tiny_data()
    logits = model(inputs)
    assert keras.backend.standardize_dtype(logits.dtype) == precision.split("_")[1]
    build_training_state(model, (inputs, target))  # one trace of the training step
    history = model.fit(inputs, target, batch_size=16, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0] - 0.2
    assert all(weight.dtype == "float32" for weight in model.trainable_weights)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(model(inputs))))
