"""Beam search against exhaustive search (issue 29).

A tiny deterministic translator (a fixed random recurrent step over a 6-word vocabulary)
implements the decoding interface; an independent enumerator scores every hypothesis of at
most `MAX_LENGTH` tokens with NumPy, under the same GNMT length penalty. A beam wide enough
to keep every hypothesis must return the exhaustive optimum; a narrower one never beats it.
"""

import itertools

import numpy as np
import pytest
from keras import ops

from attention_layers.decoding import beam_search_decode, greedy_decode
from attention_layers.utils.token_ids import END_ID, PAD_ID, START_ID

VOCABULARY = 6  # [PAD] [UNK] [START] [END] and two words
HIDDEN = 5
MAX_LENGTH = 4
# Decoding never produces [PAD] or [START]: four choices per step.
CHOICES = [token for token in range(VOCABULARY) if token not in (PAD_ID, START_ID)]
# Every hypothesis of 1..MAX_LENGTH tokens: a beam this wide drops none.
ALL_HYPOTHESES = sum(len(CHOICES) ** length for length in range(1, MAX_LENGTH + 1))
SOURCES = np.array([[2, 4, 5, 3], [2, 5, 3, 0], [2, 4, 4, 3], [2, 1, 5, 3], [2, 5, 5, 3]])


class TinyTranslator:
    """`h_t = tanh(h_{t-1} A + E[y_t] + p_t)`, `logits = h_t B + s`, where `s` depends on
    the source: a recurrent step whose next-token distribution depends on the whole prefix.
    Written with `keras.ops` (the decoding interface), mirrored in NumPy by `_numpy_step`."""

    max_source_length = None

    def __init__(self, seed):
        rng = np.random.default_rng(seed)
        self.recurrent = rng.normal(size=(HIDDEN, HIDDEN)).astype("float32")
        self.embedding = (2 * rng.normal(size=(VOCABULARY, HIDDEN))).astype("float32")
        self.positional = rng.normal(size=(MAX_LENGTH + 1, HIDDEN)).astype("float32")
        self.output = (2 * rng.normal(size=(HIDDEN, VOCABULARY))).astype("float32")
        self.source_bias = rng.normal(size=(VOCABULARY, VOCABULARY)).astype("float32")

    def start_decoding(self, source_ids, max_length):
        source = ops.cast(source_ids, "int32")
        bias = ops.sum(ops.take(self.source_bias, source, axis=0), axis=1)  # (batch, V)
        state = ops.zeros((ops.shape(source)[0], HIDDEN), "float32")
        return (bias, ops.cast(ops.not_equal(source, 0), "float32")), state

    def decode_step(self, token_ids, position, context, state):
        bias, source_mask = context
        state = ops.tanh(
            ops.matmul(state, self.recurrent)
            + ops.take(self.embedding, token_ids, axis=0)
            + ops.take(self.positional, position, axis=0)
        )  # (batch, HIDDEN)
        logits = ops.matmul(state, self.output) + bias  # (batch, V)
        weights = source_mask / ops.sum(source_mask, axis=1, keepdims=True)  # (batch, S)
        return logits, state, weights

    def decode_prefix(self, prefix_ids, context):
        raise NotImplementedError  # beam search does not use it

    def numpy_log_probs(self, source, prefix):
        """`log p(. | prefix)` `(V,)` for one source `(S,)` and `prefix` `[START] y_1 ...`."""
        bias = self.source_bias[source].sum(0)
        state = np.zeros(HIDDEN, "float64")
        for position, token in enumerate(prefix):
            state = np.tanh(
                state @ self.recurrent + self.embedding[token] + self.positional[position]
            )
        logits = state @ self.output + bias
        return logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()


def _score(model, source, tokens, alpha):
    """`log P(tokens | source) / lp(|tokens|)`, `lp(n) = ((5 + n) / 6) ** alpha`."""
    log_prob = sum(
        model.numpy_log_probs(source, [START_ID, *tokens[:step]])[tokens[step]]
        for step in range(len(tokens))
    )
    return log_prob / ((5 + len(tokens)) / 6) ** alpha


def _exhaustive(model, source, alpha):
    """Every hypothesis ending in [END] within MAX_LENGTH tokens and its score:
    `{tokens: score}`."""
    words = [choice for choice in CHOICES if choice != END_ID]
    return {
        (*prefix, END_ID): _score(model, source, (*prefix, END_ID), alpha)
        for length in range(1, MAX_LENGTH + 1)
        for prefix in itertools.product(words, repeat=length - 1)
    }


def _tokens(row):
    row = [int(token) for token in row]
    return tuple(row[: row.index(END_ID) + 1]) if END_ID in row else tuple(row)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_beam_wide_enough_finds_the_exhaustive_optimum(seed, alpha):
    model = TinyTranslator(seed)
    wide = ops.convert_to_numpy(beam_search_decode(
        model, SOURCES, max_length=MAX_LENGTH, beam_width=ALL_HYPOTHESES,
        length_penalty=alpha, return_attention=False,
    ))
    narrow = ops.convert_to_numpy(beam_search_decode(
        model, SOURCES, max_length=MAX_LENGTH, beam_width=2, length_penalty=alpha,
        return_attention=False,
    ))
    for source, wide_row, narrow_row in zip(SOURCES, wide, narrow, strict=True):
        scores = _exhaustive(model, source, alpha)
        ranked = sorted(scores.values(), reverse=True)
        best = max(scores, key=scores.get)
        found = _tokens(wide_row)
        # float32 decoding against float64 enumeration: 1e-4 in a score of order 1-10.
        assert scores[found] == pytest.approx(ranked[0], abs=1e-4), (found, best)
        if ranked[0] - ranked[1] > 1e-3:  # no near-tie: the same words
            assert found == best
        # A narrow beam's answer is no better than the optimum. It may have ended
        # nowhere (MAX_LENGTH reached): then it is the best of its live beams.
        narrow_tokens = _tokens(narrow_row)
        assert _score(model, source, narrow_tokens, alpha) <= ranked[0] + 1e-4 or (
            narrow_tokens[-1] != END_ID
        )


def test_the_exhaustive_optimum_differs_from_greedy_somewhere():
    """The cases above are hard enough: greedy decoding misses the optimum in some."""
    misses = 0
    for seed in (0, 1, 2):
        model = TinyTranslator(seed)
        greedy = ops.convert_to_numpy(
            greedy_decode(model, SOURCES, MAX_LENGTH, return_attention=False)
        )
        for source, row in zip(SOURCES, greedy, strict=True):
            tokens = _tokens(row)
            best = max(_exhaustive(model, source, 0.6).values())
            misses += _score(model, source, tokens, 0.6) < best - 1e-3
    assert misses > 0
