"""The generated tasks put the needed token where they say, and the models are matched."""

import numpy as np
import pytest

from attention_layers.experiments import models, tasks


@pytest.mark.parametrize("distance", [10, 57])
def test_recall_first_needs_the_token_distance_back(distance):
    tokens, answers = tasks.generate("recall_first", 64, distance, seed=0)
    assert tokens.shape == (64, distance + 1) and answers.shape == (64, 1)
    np.testing.assert_array_equal(tokens[:, 0], answers[:, 0])
    assert np.all(tokens[:, -1] == tasks.QUERY)
    assert np.all(np.isin(tokens[:, 1:-1], tasks.NOISE))  # no other symbol to confuse it


def test_selective_copy_answers_are_the_symbols_in_order():
    distance = 30
    tokens, answers = tasks.generate("selective_copy", 32, distance, seed=1)
    assert tokens.shape == (32, distance + tasks.COPY_LENGTH)
    assert answers.shape == (32, tasks.COPY_LENGTH)
    for row, answer in zip(tokens, answers, strict=True):
        symbols = row[:distance][row[:distance] < tasks.NUM_SYMBOLS]
        np.testing.assert_array_equal(symbols, answer)
        assert row[0] < tasks.NUM_SYMBOLS  # the first is exactly `distance` before its answer
    assert np.all(tokens[:, distance:] == tasks.QUERY)


def test_associative_recall_answers_the_symbol_of_the_queried_key():
    distance = 20
    tokens, answers = tasks.generate("associative_recall", 64, distance, seed=2)
    assert tokens.shape == (64, distance + 1)
    for row, answer in zip(tokens, answers, strict=True):
        keys, symbols = row[0 : 2 * tasks.PAIRS : 2], row[1 : 2 * tasks.PAIRS : 2]
        assert len(set(keys)) == tasks.PAIRS
        assert symbols[list(keys).index(row[-1])] == answer[0]


def test_tasks_reject_a_distance_too_short():
    with pytest.raises(ValueError, match="distance"):
        tasks.generate("associative_recall", 4, 3, seed=0)
    with pytest.raises(ValueError, match="Unknown task"):
        tasks.generate("parity", 4, 10, seed=0)


def test_models_are_matched_within_ten_percent():
    target = 6000
    counts = {
        kind: models.build_matched(kind, target, tasks.VOCABULARY_SIZE, 1, tasks.NUM_SYMBOLS)
        .count_params()
        for kind in models.MODEL_NAMES
    }
    for kind, count in counts.items():
        assert abs(count - target) <= 0.1 * target, (kind, count)


def test_model_reads_out_the_last_positions():
    model = models.build_model("gru_attention", 8, tasks.VOCABULARY_SIZE, 4, tasks.NUM_SYMBOLS)
    tokens, _ = tasks.generate("selective_copy", 3, 12, seed=0)
    assert tuple(model(tokens).shape) == (3, 4, tasks.NUM_SYMBOLS)
