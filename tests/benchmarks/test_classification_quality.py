"""The reference of `benchmarks/classification_quality.py`: Kim (2014)'s CNN-rand (its
pooling, its max-norm constraint, the epoch it keeps within the budget) and the relabelled
label set, on a few dozen examples (seconds)."""

import importlib.util
import json
import pathlib

import keras
import numpy as np
import pytest

PATH = pathlib.Path(__file__).parents[2] / "benchmarks" / "classification_quality.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("classification_quality", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_features(model, token_ids):
    """Steps 1-3 of `CNNRand` in NumPy: zero `[PAD]` vectors, `window - 1` zeros at both
    ends, ReLU convolutions, the maximum over time."""
    table = keras.ops.convert_to_numpy(model.embedding.embeddings)
    vectors = table[token_ids] * (token_ids != 0)[..., None]
    pad = max(model.windows) - 1
    vectors = np.pad(vectors, ((0, 0), (pad, pad), (0, 0)))
    pooled = []
    for window, convolution in zip(model.windows, model.convolutions, strict=True):
        kernel, bias = (keras.ops.convert_to_numpy(w) for w in convolution.weights)
        positions = vectors.shape[1] - window + 1
        maps = np.stack([
            np.einsum("bwd,wdm->bm", vectors[:, start : start + window], kernel) + bias
            for start in range(positions)
        ], axis=1)  # (batch, positions, maps)
        pooled.append(np.maximum(maps, 0).max(axis=1))
    return np.concatenate(pooled, axis=-1)


def test_cnn_rand_pools_the_maximum_over_time_of_relu_maps(bench):
    model = bench.CNNRand(12, num_classes=3, embedding_dim=4, windows=(2, 3), feature_maps=5)
    # Padding in the middle too: its vector must read as zero, whatever its table row holds.
    token_ids = np.array([[3, 4, 5, 0, 0], [7, 0, 8, 9, 11]], "int32")
    probabilities = model(token_ids)
    table = np.random.default_rng(0).normal(size=(12, 4)).astype("float32")
    model.embedding.embeddings.assign(table)
    features = keras.ops.convert_to_numpy(model.pooled_features(token_ids))
    assert features.shape == (2, 10)
    np.testing.assert_allclose(features, reference_features(model, token_ids), atol=1e-5)
    assert features.min() >= 0  # ReLU before the pooling
    # The softmax starts at zero weights (the author's code): uniform probabilities.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(probabilities), 1 / 3, atol=1e-6)


def test_cnn_rand_keeps_each_class_weight_vector_within_norm_3(bench):
    keras.utils.set_random_seed(0)
    model = bench.cnn_rand_model(30, num_classes=3, embedding_dim=8, feature_maps=4)
    model.run_eagerly = True  # one step: tracing would take longer than the step
    token_ids = np.random.default_rng(0).integers(1, 30, size=(8, 6)).astype("int32")
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1], "int32")
    model(token_ids)
    kernel = model.classify.kernel  # (12, 3): one column per class
    large = np.full((12, 3), 2.5, "float32")  # column norms 8.66
    large[:, 2] = 0.05  # norm 0.17: under the limit, left as the step makes it
    kernel.assign(large)
    model.train_on_batch(token_ids, labels)
    norms = np.linalg.norm(keras.ops.convert_to_numpy(kernel), axis=0)
    np.testing.assert_allclose(norms[:2], 3.0, rtol=1e-4)
    assert 0.1 < norms[2] < 1.0


def test_budget_stops_at_a_step_and_keeps_the_best_validation_epoch(bench):
    ticks = iter(range(10**6))
    budget = bench.BestEpochWithinBudget(seconds=7, clock=lambda: next(ticks))
    model = bench.cnn_rand_model(30, num_classes=2, embedding_dim=8, feature_maps=4)
    rng = np.random.default_rng(1)
    token_ids = rng.integers(1, 30, size=(40, 6)).astype("int32")
    labels = (token_ids[:, 0] > 15).astype("int32")
    history = model.fit(token_ids, labels, batch_size=10, epochs=25, callbacks=[budget],
                        validation_data=(token_ids[:20], labels[:20]), verbose=0)
    # 4 steps an epoch, one tick each (the start is tick 0): the 7th step ends the run.
    assert budget.epochs == 2 == len(history.history["val_accuracy"])
    best = int(np.argmax(history.history["val_accuracy"]))
    assert budget.best_epoch == best + 1
    assert budget.best == history.history["val_accuracy"][best]


def test_relabel_writes_a_new_label_set(bench, tmp_path):
    source = tmp_path / "train.tsv"
    source.write_text("text\tlabel\ngood\tvery positive\nbad\tnegative\nfine\tneutral\n")
    files = bench.relabelled_files(
        {"train": str(source), "validation": None, "test": str(source)},
        ["very positive=positive", "very negative=negative"], tmp_path,
    )
    assert files["validation"] is None
    rows = [json.loads(line) for line in pathlib.Path(files["train"]).read_text().splitlines()]
    assert rows == [{"text": "good", "label": "positive"}, {"text": "bad", "label": "negative"},
                    {"text": "fine", "label": "neutral"}]
