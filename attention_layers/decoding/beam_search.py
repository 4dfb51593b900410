"""Beam search with the GNMT length penalty (Wu et al. 2016, §7, eq. 14).

The decoder runs on `batch * beam_width` rows: row `b * beam_width + k` is beam `k` of
sentence `b`. `beams` holds, per sentence and beam `(batch, beam)`, the `log_probs`, the
`scores` (`log_probs / lp(lengths)`), the `lengths` (`[END]` included) and whether the
beam has `finished`.
"""

from keras import ops

from attention_layers.decoding.compiled import run_compiled
from attention_layers.decoding.interface import (
    check_length_penalty,
    check_translator,
    source_tensor,
)
from attention_layers.decoding.loop import (
    NEGATIVE_INFINITY,
    decoded,
    forbid_reserved,
    gather_rows,
    repeat_rows,
    token_buffers,
    write_at,
    write_weights,
)
from attention_layers.utils.checks import check_positive_int
from attention_layers.utils.token_ids import END_ID, PAD_ID


def length_penalty_factor(length, alpha):
    """The GNMT length penalty `lp(Y) = ((5 + |Y|) / 6) ** alpha` (Wu et al. 2016, eq. 14).

    A hypothesis is ranked by `log P(Y | X) / lp(Y)`: with `alpha = 0` by its plain
    log-probability, which favours short outputs; larger `alpha` favours longer ones.

    Args:
        length: int tensor, the hypotheses' lengths (`[END]` included).
        alpha: float >= 0.

    Returns:
        A float32 tensor of the shape of `length`.
    """
    return ops.power((5.0 + ops.cast(length, "float32")) / 6.0, alpha)


def _first_beams(batch, beam_width):
    """Only beam 0 is alive at first, so the first step does not pick one word K times."""
    first_beam = ops.expand_dims(ops.equal(ops.arange(beam_width), 0), 0)  # (1, beam)
    log_probs = ops.where(
        ops.broadcast_to(first_beam, (batch, beam_width)), 0.0, NEGATIVE_INFINITY
    )  # (batch, beam)
    return {
        "log_probs": log_probs,
        "scores": log_probs,
        "lengths": ops.zeros((batch, beam_width), "int32"),
        "finished": ops.zeros((batch, beam_width), "bool"),
    }


def _all_done(beams, max_penalty):
    """Whether every sentence is done: all its beams have ended, or its best ended
    hypothesis beats what any live beam could still reach (log-probabilities only fall,
    and the penalty is largest at `max_length`, `max_penalty`)."""
    finished = beams["finished"]
    best_finished = ops.max(ops.where(finished, beams["scores"], NEGATIVE_INFINITY), 1)
    best_alive = ops.max(
        ops.where(finished, NEGATIVE_INFINITY, beams["log_probs"] / max_penalty), 1
    )
    done = ops.logical_or(ops.all(finished, axis=1), best_finished >= best_alive)
    return ops.all(done)


def _extend_beams(logits, beams, position, length_penalty, shape):
    """Extends every beam by every token and keeps the `beam_width` best per sentence.

    Args:
        logits: `(batch * beam, V)`, the next token's after each beam.
        beams: the beams before this step.
        position: int scalar, the step.
        length_penalty: `alpha`.
        shape: `(batch, beam_width)`.

    Returns:
        `(beams, parent, next_token)`: the new beams, best first, and for each, int32
        `(batch, beam)`, the old beam it extends and its new token.
    """
    batch, beam_width = shape
    finished = beams["finished"]
    # The model's log-probabilities (not renormalized without the reserved tokens).
    step_log_probs = forbid_reserved(ops.log_softmax(ops.cast(logits, "float32"), axis=-1))
    vocabulary = ops.shape(step_log_probs)[-1]
    step_log_probs = ops.reshape(step_log_probs, (batch, beam_width, vocabulary))
    # An ended beam has one continuation, [PAD], at no cost: it keeps its score.
    pad_only = ops.where(ops.equal(ops.arange(vocabulary), PAD_ID), 0.0, NEGATIVE_INFINITY)
    step_log_probs = ops.where(ops.expand_dims(finished, -1), pad_only, step_log_probs)
    candidate_log_probs = ops.expand_dims(beams["log_probs"], -1) + step_log_probs
    candidate_lengths = ops.where(finished, beams["lengths"], position + 1)  # (b, k)
    candidate_scores = candidate_log_probs / ops.expand_dims(
        length_penalty_factor(candidate_lengths, length_penalty), -1
    )  # (batch, beam, V)
    scores, best = ops.top_k(
        ops.reshape(candidate_scores, (batch, beam_width * vocabulary)), beam_width
    )  # (batch, beam): the new beams, best first
    parent = ops.cast(best // vocabulary, "int32")
    next_token = ops.cast(best % vocabulary, "int32")
    new_beams = {
        "log_probs": ops.take_along_axis(
            ops.reshape(candidate_log_probs, (batch, beam_width * vocabulary)), best, 1
        ),
        "scores": scores,
        "lengths": ops.take_along_axis(candidate_lengths, parent, axis=1),
        "finished": ops.logical_or(
            ops.take_along_axis(finished, parent, axis=1), ops.equal(next_token, END_ID)
        ),
    }
    return new_beams, parent, next_token


def _follow_parents(buffers, state, parent, next_token, position, shape):
    """Reorders the buffers and the decoder state after the parents, then writes the
    new tokens at `position + 1`."""
    batch, beam_width = shape
    parent_rows = ops.reshape(
        ops.expand_dims(ops.arange(batch) * beam_width, 1) + parent, (-1,)
    )  # (batch * beam,)
    buffers, state = gather_rows((buffers, state), parent_rows)
    buffers["tokens"] = write_at(
        buffers["tokens"], position + 1, ops.reshape(next_token, (-1,))
    )
    return buffers, state


def _best_hypotheses(buffers, beams, shape, return_attention):
    """Per sentence, the best ended hypothesis; if none ended (`max_length` was reached),
    the best live one: `(token_ids, cross_attention)` as `beam_search_decode` returns."""
    batch, beam_width = shape
    finished = beams["finished"]
    eligible = ops.logical_or(
        finished, ops.logical_not(ops.any(finished, axis=1, keepdims=True))
    )
    choice = ops.argmax(ops.where(eligible, beams["scores"], -float("inf")), axis=1)
    choice = ops.cast(choice, "int32")
    buffers = gather_rows(buffers, ops.arange(batch) * beam_width + choice)
    chosen_lengths = ops.take_along_axis(beams["lengths"], ops.expand_dims(choice, 1), axis=1)
    return decoded(buffers, ops.max(chosen_lengths, initial=0), return_attention)


def _beam_search(model, source_ids, max_length, beam_width, length_penalty, return_attention):
    source = source_tensor(source_ids)
    batch, source_length = ops.shape(source)[0], ops.shape(source)[1]
    shape = (batch, beam_width)
    context, state = model.start_decoding(source, max_length)
    # Beams of one sentence share its context; only the state is reordered at each step.
    context, state = repeat_rows((context, state), beam_width)
    buffers = token_buffers(batch * beam_width, max_length, source_length, return_attention)
    max_penalty = length_penalty_factor(max_length, length_penalty)

    def keep_going(position, buffers, beams, state):
        return ops.logical_and(
            position < max_length, ops.logical_not(_all_done(beams, max_penalty))
        )

    def step(position, buffers, beams, state):
        token = ops.take(buffers["tokens"], position, axis=1)  # (batch * beam,)
        logits, state, step_weights = model.decode_step(token, position, context, state)
        buffers = dict(buffers)
        if return_attention:
            # This step's weights belong to the old beams: write them before reordering.
            finished = ops.reshape(beams["finished"], (-1, 1))  # (batch * beam, 1)
            buffers["weights"] = write_weights(
                buffers["weights"], position, step_weights, finished
            )
        beams, parent, next_token = _extend_beams(
            logits, beams, position, length_penalty, shape
        )
        buffers, state = _follow_parents(buffers, state, parent, next_token, position, shape)
        return position + 1, buffers, beams, state

    position = ops.convert_to_tensor(0, "int32")
    beams = _first_beams(batch, beam_width)
    _, buffers, beams, _ = ops.while_loop(keep_going, step, (position, buffers, beams, state))
    return _best_hypotheses(buffers, beams, shape, return_attention)


def beam_search_decode(
    model,
    source_ids,
    max_length=64,
    beam_width=4,
    length_penalty=0.6,
    return_attention=True,
    jit_compile=False,
):
    """Beam search with the GNMT length penalty (Wu et al. 2016, §7, eq. 14).

    Each sentence keeps `beam_width` hypotheses. The decoder runs on
    `batch * beam_width` rows (row `b * beam_width + k` is beam `k` of sentence `b`); the
    encoder runs once per sentence and its context (the Transformer's cross-attention
    keys and values) is shared by the sentence's beams.

    1. Beam 0 starts from `[START]` with log-probability 0 (the others from -inf, so
       the first step does not select one word `beam_width` times);
    2. each step extends every beam by every token but `[PAD]` and `[START]`:
       `log P(y_1..t) = log P(y_1..t-1) + log p(y_t | ...)`: `(batch, beam, V)`; an ended
       beam only by `[PAD]`, at no cost;
    3. the `beam_width` candidates with the best score `log P(Y) / lp(Y)`,
       `lp(Y) = ((5 + |Y|) / 6) ** length_penalty`, survive; the decoder state (the
       Transformer's self-attention caches, the RNN's recurrent state) and the token
       buffers are gathered after their parent beams;
    4. a sentence is done when all its beams have ended, or when its best ended
       hypothesis scores above what a live beam could still reach; the loop stops when
       every sentence is done or after `max_length` steps;
    5. the answer is the best ended hypothesis (or, if none ended, the best live one).

    `beam_width=1` gives exactly `greedy_decode`.

    Args:
        model: a translator with the decoding interface (`TransformerTranslator`,
            `RNNTranslator`; see `attention_layers.decoding.Translator`).
        source_ids: int `(batch, S)` source ids, padded with 0.
        max_length: the most tokens to generate, `[END]` included.
        beam_width: hypotheses kept per sentence (an int, or an int32 scalar tensor
            inside a graph).
        length_penalty: `alpha >= 0`; 0 ranks by log-probability alone (short outputs
            win more often), GNMT uses 0.6 to 0.7.
        return_attention: also collect the cross-attention weights (they are reordered
            with the beams at every step: leave them out when only text is needed).
        jit_compile: as for `greedy_decode`.

    Returns:
        `(token_ids, cross_attention)` of the best hypothesis per sentence, as for
        `greedy_decode`; only `token_ids` with `return_attention=False`.

    Example:

    >>> model = TransformerTranslator(50, 40, num_layers=1, model_dim=16, num_heads=2,
    ...                               feed_forward_dim=32)
    >>> token_ids, _ = beam_search_decode(model, [[2, 5, 6, 3]], max_length=8, beam_width=3)
    >>> int(token_ids.shape[0])
    1
    """
    check_positive_int("max_length", max_length)
    check_length_penalty(length_penalty)
    check_translator(model)
    options = (float(length_penalty), bool(return_attention))
    if hasattr(beam_width, "shape"):
        # A tensor, e.g. an exported signature's input: checked by the caller.
        return _beam_search(model, source_ids, max_length, beam_width, *options)
    check_positive_int("beam_width", beam_width)
    return run_compiled(
        model, _beam_search, source_ids, max_length, beam_width, *options,
        jit_compile=jit_compile,
    )
