"""Greedy and beam-search decoding: values checked against references, not just shapes."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from attention_layers.decoding import (
    beam_search_decode,
    greedy_decode,
    greedy_decode_full_prefix,
    length_penalty_factor,
    sequence_log_probability,
)
from attention_layers.models import RNNTranslator, TransformerTranslator

PAD, START, END = 0, 2, 3


@pytest.fixture(scope="module")
def test_sources(trained_transformer):
    """Source ids of 32 test sentences, `(32, S)`."""
    sentences = [source for source, _ in trained_transformer.corpus.test[:32]]
    return trained_transformer.source_tokenizer.tokenize(sentences).to_tensor().numpy()


def _random_sources(batch, length, vocabulary, seed):
    rng = np.random.default_rng(seed)
    sources = np.zeros((batch, length), "int32")
    for row in range(batch):
        real = rng.integers(1, length - 1)
        sources[row, : real + 2] = [START, *rng.integers(4, vocabulary, real), END]
    return sources


def _with_end_bias(model, bias):
    """Adds `bias` to the logit of `[END]` (to make sequences end early or never)."""
    if not model.built:
        model.build()
    values = ops.convert_to_numpy(model.output_projection.bias).copy()
    values[END] += bias
    model.output_projection.bias.assign(values)
    return model


RNN_VARIANTS = {
    "gru-bahdanau": {"cell": "gru", "attention": "bahdanau"},
    "lstm-location-sensitive-input-feeding": {
        "cell": "lstm", "attention": "location-sensitive", "input_feeding": True,
    },
}


@pytest.fixture(scope="module", params=sorted(RNN_VARIANTS))
def random_rnn(request):
    keras.utils.set_random_seed(3)
    model = RNNTranslator(30, 14, embedding_dim=8, units=16, **RNN_VARIANTS[request.param])
    return _with_end_bias(model, 1.5)


@pytest.fixture(scope="module")
def random_transformer():
    keras.utils.set_random_seed(4)
    model = TransformerTranslator(
        30, 14, num_layers=2, model_dim=16, num_heads=2, feed_forward_dim=32
    )
    return _with_end_bias(model, 1.5)


# --- cached decoding equals re-running the decoder ------------------------------------


def test_cached_greedy_equals_full_prefix_transformer(trained_transformer, test_sources):
    token_ids, attention = greedy_decode(trained_transformer.model, test_sources, 40)
    reference_ids, reference_attention = greedy_decode_full_prefix(
        trained_transformer.model, test_sources, 40
    )
    np.testing.assert_array_equal(token_ids, reference_ids)
    np.testing.assert_allclose(attention, reference_attention, atol=1e-5)
    # Every sequence ended, and [PAD] follows [END].
    ids = token_ids.numpy()
    assert ((ids == END).sum(1) == 1).all()
    after_end = np.cumsum(ids == END, axis=1) - (ids == END) > 0
    assert (ids[after_end] == PAD).all()


def test_step_decoding_equals_full_prefix_rnn(random_rnn):
    sources = _random_sources(5, 9, 30, seed=0)
    token_ids, attention = greedy_decode(random_rnn, sources, 10)
    reference_ids, reference_attention = greedy_decode_full_prefix(random_rnn, sources, 10)
    np.testing.assert_array_equal(token_ids, reference_ids)
    np.testing.assert_allclose(attention, reference_attention, atol=1e-5)


# --- beam search ----------------------------------------------------------------------


def test_beam_width_one_equals_greedy(trained_transformer, test_sources):
    greedy_ids, greedy_attention = greedy_decode(trained_transformer.model, test_sources, 40)
    beam_ids, beam_attention = beam_search_decode(
        trained_transformer.model, test_sources, 40, beam_width=1
    )
    np.testing.assert_array_equal(beam_ids, greedy_ids)
    np.testing.assert_allclose(beam_attention, greedy_attention, atol=1e-6)


def test_beam_width_one_equals_greedy_rnn(random_rnn):
    sources = _random_sources(5, 9, 30, seed=1)
    greedy_ids, _ = greedy_decode(random_rnn, sources, 10)
    beam_ids, _ = beam_search_decode(random_rnn, sources, 10, beam_width=1, length_penalty=1.0)
    np.testing.assert_array_equal(beam_ids, greedy_ids)


def _reference_beam_search(model, source, max_length, beam_width, alpha):
    """Beam search for one sentence, written plainly: Python lists of hypotheses, and
    every step a full teacher-forced pass over each hypothesis (no caches, no gathers).

    Same rules as `beam_search_decode`: rank by `log P / lp`, an ended hypothesis is
    carried unchanged, stop when all ended or the best ended one beats any live bound.
    """

    def penalty(length):
        return ((5.0 + length) / 6.0) ** alpha

    # (tokens, log-probability, length, ended, score)
    beams = [([], 0.0, 0, False, 0.0)]
    position = 0
    while position < max_length:
        best_ended = max((b[4] for b in beams if b[3]), default=-math.inf)
        best_bound = max((b[1] / penalty(max_length) for b in beams if not b[3]), default=-math.inf)
        if all(b[3] for b in beams) or best_ended >= best_bound:
            break
        target_in = np.array([[START, *b[0]] for b in beams], "int32")
        logits = model((np.repeat(source[None], len(beams), 0), target_in), training=False)
        log_probs = ops.convert_to_numpy(ops.log_softmax(logits[:, -1], axis=-1))
        candidates = []
        for index, (tokens, log_prob, length, ended, score) in enumerate(beams):
            if ended:
                candidates.append((tokens + [PAD], log_prob, length, True, score))
                continue
            for token, token_log_prob in enumerate(log_probs[index]):
                if token in (PAD, START):  # never generated
                    continue
                total = log_prob + float(token_log_prob)
                candidates.append(
                    (tokens + [token], total, position + 1, token == END,
                     total / penalty(position + 1))
                )
        beams = sorted(candidates, key=lambda b: -b[4])[:beam_width]
        position += 1
    eligible = [b for b in beams if b[3]] or beams
    best = max(eligible, key=lambda b: b[4])
    return [token for token in best[0] if token != PAD]


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_beam_search_equals_plain_reference(random_transformer, alpha):
    sources = _random_sources(4, 8, 30, seed=2)
    token_ids, _ = beam_search_decode(
        random_transformer, sources, 7, beam_width=3, length_penalty=alpha
    )
    for row, source in enumerate(sources):
        expected = _reference_beam_search(random_transformer, source, 7, 3, alpha)
        got = [token for token in token_ids.numpy()[row] if token != PAD]
        assert got == expected, row


def test_beam_search_equals_plain_reference_rnn(random_rnn):
    sources = _random_sources(3, 8, 30, seed=3)
    token_ids, _ = beam_search_decode(random_rnn, sources, 6, beam_width=3, length_penalty=0.6)
    for row, source in enumerate(sources):
        expected = _reference_beam_search(random_rnn, source, 6, 3, 0.6)
        got = [token for token in token_ids.numpy()[row] if token != PAD]
        assert got == expected, row


def test_beam_search_of_one_is_greedy_and_its_scores_are_finite(
    trained_transformer, test_sources
):
    """Not "beam >= greedy": a beam of 4 may prune the greedy path and end less probable.
    Optimality is tested where it holds, against exhaustive search
    (tests/decoding/test_beam_exhaustive.py)."""
    model = trained_transformer.model
    greedy_ids, _ = greedy_decode(model, test_sources, 40)
    one_ids, _ = beam_search_decode(model, test_sources, 40, beam_width=1, length_penalty=0.0)
    np.testing.assert_array_equal(one_ids.numpy(), greedy_ids.numpy())
    beam_ids, _ = beam_search_decode(model, test_sources, 40, beam_width=4, length_penalty=0.0)
    beam_log_prob = sequence_log_probability(model, test_sources, beam_ids).numpy()
    assert np.isfinite(beam_log_prob).all()


def test_beam_attention_belongs_to_the_chosen_hypothesis(trained_transformer, test_sources):
    """The weights returned with the best beam are those of its own tokens: the same as
    the teacher-forced pass gives for that output."""
    model = trained_transformer.model
    sources = test_sources[:8]
    token_ids, attention = beam_search_decode(model, sources, 40, beam_width=3)
    target_in = np.concatenate([np.full((8, 1), START), token_ids.numpy()[:, :-1]], 1)
    weights = model.get_attention_weights((sources, target_in))["decoder_0/cross_attention"]
    expected = ops.convert_to_numpy(ops.mean(weights, axis=1))  # (batch, T, S)
    real = token_ids.numpy() != PAD
    np.testing.assert_allclose(attention.numpy()[real], expected[real], atol=1e-5)
    # Without the weights, the same outputs.
    np.testing.assert_array_equal(
        beam_search_decode(model, sources, 40, beam_width=3, return_attention=False), token_ids
    )


# --- stopping ---------------------------------------------------------------------------


@pytest.mark.parametrize("decode", ["greedy", "beam"])
def test_stops_at_end_and_at_max_length(decode):
    keras.utils.set_random_seed(5)
    model = TransformerTranslator(30, 14, num_layers=1, model_dim=8, num_heads=2, feed_forward_dim=16)
    sources = _random_sources(3, 6, 30, seed=4)

    def run(max_length):
        if decode == "greedy":
            return greedy_decode(model, sources, max_length)[0].numpy()
        return beam_search_decode(model, sources, max_length, beam_width=2)[0].numpy()

    _with_end_bias(model, -1e4)  # [END] is never chosen: the loop runs max_length steps
    ids = run(9)
    assert ids.shape == (3, 9) and not (ids == END).any() and not (ids == PAD).any()
    _with_end_bias(model, 2e4)  # [END] always wins: one step
    np.testing.assert_array_equal(run(9), [[END]] * 3)


def test_batched_equals_one_sentence_at_a_time(trained_transformer, test_sources):
    model = trained_transformer.model
    batched_greedy = greedy_decode(model, test_sources[:5], 40)[0].numpy()
    batched_beam = beam_search_decode(model, test_sources[:5], 40, beam_width=4)[0].numpy()
    for row in range(5):
        source = test_sources[row : row + 1]
        source = source[:, : int((source != PAD).sum())]  # no padding at all when alone
        alone = greedy_decode(model, source, 40)[0].numpy()[0]
        np.testing.assert_array_equal(batched_greedy[row, : len(alone)], alone)
        alone = beam_search_decode(model, source, 40, beam_width=4)[0].numpy()[0]
        np.testing.assert_array_equal(batched_beam[row, : len(alone)], alone)


# --- arguments --------------------------------------------------------------------------


def test_invalid_arguments(random_transformer):
    sources = _random_sources(2, 5, 30, seed=5)
    with pytest.raises(ValueError, match="max_length"):
        greedy_decode(random_transformer, sources, 0)
    with pytest.raises(ValueError, match="beam_width"):
        beam_search_decode(random_transformer, sources, 5, beam_width=0)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search_decode(random_transformer, sources, 5, length_penalty=-1.0)
    with pytest.raises(ValueError, match="2-D"):
        greedy_decode(random_transformer, sources[0], 5)
    with pytest.raises(TypeError, match="TransformerTranslator"):
        greedy_decode(keras.Sequential([keras.layers.Dense(2)]), sources, 5)


def test_length_penalty_factor():
    np.testing.assert_allclose(length_penalty_factor(np.array([1, 7, 13]), 1.0), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(length_penalty_factor(np.array([4]), 0.0), [1.0])
    np.testing.assert_allclose(length_penalty_factor(np.array([10]), 0.6), [2.5**0.6], rtol=1e-6)


def test_xla_compiled_decoding_gives_the_same_tokens(random_transformer):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("jit_compile is for the TensorFlow backend")
    sources = _random_sources(3, 7, 30, seed=6)
    greedy_ids, greedy_attention = greedy_decode(random_transformer, sources, 8)
    xla_ids, xla_attention = greedy_decode(random_transformer, sources, 8, jit_compile=True)
    np.testing.assert_array_equal(xla_ids, greedy_ids)
    np.testing.assert_allclose(xla_attention, greedy_attention, atol=1e-5)
