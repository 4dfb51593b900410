"""Greedy and beam-search decoding for `TransformerTranslator` and `RNNTranslator`.

Every decoder here runs the same kind of loop (`keras.ops.while_loop`) over fixed-size
buffers, so it traces once into a graph (`tf.function`, an exported SavedModel) and also
runs eagerly:

- the Transformer steps with cached keys and values (`TransformerTranslator.decode_step`):
  each new position projects only itself and attends to the cache, so a step costs
  `O(T)` instead of re-running the decoder over the whole prefix (`O(T^2)` per step);
- the RNN steps with its recurrent state (`RNNTranslator.decode_step`).

A sequence stops at its first `[END]` (later positions hold `[PAD]`); the loop stops when
every sequence has stopped, and never runs more than `max_length` steps.

`greedy_decode_full_prefix` is the reference that the TensorFlow Transformer tutorial
uses, re-running the decoder over the whole prefix at every step; the tests check that
cached decoding gives the same tokens, and `benchmarks/decoding.py` times both.
"""

import weakref

import keras
from keras import ops

from attention_layers.models.rnn_translator import RNNTranslator
from attention_layers.models.transformer_translator import TransformerTranslator

# The reserved ids of `attention_layers.text` (not imported: that package needs TensorFlow,
# and decoding runs on any backend).
PAD_ID, START_ID, END_ID = 0, 2, 3

# Stands in for log(0): finite, so that sums and divisions never make NaNs.
_NEGATIVE_INFINITY = -1e9


# --- one decoder step per model ---------------------------------------------------------


class _TransformerSteps:
    """Cached decoding of a `TransformerTranslator`.

    The context (cross-attention keys and values of the encoder output, the source mask)
    is computed once; the state (per layer, the self-attention keys and values of the
    positions decoded so far, in a `max_length` buffer) changes at every step.
    """

    def __init__(self, model):
        self.model = model

    def start(self, source, max_length):
        memory, source_mask = self.model.encode(source, training=False)
        caches = self.model.start_decoding(memory, max_length)
        cross_caches = [cross for cross, _ in caches]
        self_caches = [own for _, own in caches]
        return (cross_caches, source_mask), self_caches

    def step(self, token, position, context, state):
        cross_caches, source_mask = context
        caches = list(zip(cross_caches, state, strict=True))
        logits, caches, cross_weights = self.model.decode_step(
            token, position, caches, source_mask
        )  # (batch, V), caches, (batch, heads, S)
        return logits, [own for _, own in caches], ops.mean(cross_weights, axis=1)

    def encode(self, source):
        return self.model.encode(source, training=False)

    def prefix_step(self, prefix, encoded):
        memory, source_mask = encoded
        logits, attention = self.model.decode(
            prefix, memory, source_mask, training=False, return_attention=True
        )
        last_layer = attention[f"decoder_{self.model.num_layers - 1}/cross_attention"]
        # (batch, V), (batch, S): the last position, heads averaged.
        return logits[:, -1], ops.mean(last_layer[:, :, -1], axis=1)


class _RNNSteps:
    """Step-by-step decoding of an `RNNTranslator`: the state is the RNN's own.

    The context is the encoder outputs and the source mask; the state is
    `RNNTranslator.initial_step_state` (recurrent states, attentional vector, weights,
    alignment), advanced by `RNNTranslator.decode_step`.
    """

    def __init__(self, model):
        self.model = model

    def start(self, source, max_length):
        encoder_outputs, source_mask, initial_states = self.model.encode(source, training=False)
        state = self.model.initial_step_state(encoder_outputs, initial_states)
        return (encoder_outputs, source_mask), tuple(state)

    def step(self, token, position, context, state):
        encoder_outputs, source_mask = context
        attentional, weights, state = self.model.decode_step(
            self.model.target_embedding(token), state, encoder_outputs, source_mask,
            training=False,
        )  # (batch, units), (batch, S)
        return self.model.output_projection(attentional), tuple(state), weights

    def encode(self, source):
        return self.model.encode(source, training=False)

    def prefix_step(self, prefix, encoded):
        encoder_outputs, source_mask, initial_states = encoded
        logits, weights = self.model.decode(
            prefix, encoder_outputs, source_mask, initial_states, training=False
        )  # (batch, T, V), (batch, T, S)
        return logits[:, -1], weights[:, -1]


def _steps_for(model):
    if isinstance(model, TransformerTranslator):
        return _TransformerSteps(model)
    if isinstance(model, RNNTranslator):
        return _RNNSteps(model)
    raise TypeError(
        "`model` must be a `TransformerTranslator` or an `RNNTranslator`; received "
        f"{type(model).__name__}."
    )


# --- checks and small helpers -----------------------------------------------------------


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive int; received {value!r}.")


def _check_length_penalty(length_penalty):
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float)):
        raise ValueError(f"`length_penalty` must be a float >= 0; received {length_penalty!r}.")
    if not length_penalty >= 0:
        raise ValueError(f"`length_penalty` must be a float >= 0; received {length_penalty!r}.")


def _source_tensor(source_ids):
    source = ops.convert_to_tensor(source_ids)
    if len(source.shape) != 2:
        raise ValueError(
            "`source_ids` must be 2-D (batch, S) integer ids; received a tensor of shape "
            f"{tuple(source.shape)}."
        )
    return ops.cast(source, "int32")


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


def _forbid_reserved(scores):
    """Rules out `[PAD]` and `[START]` as the next token: `(..., V)` -> `(..., V)`.

    Neither is ever a training target, so their logits are untrained, and a generated
    `[PAD]` would read as "this sequence has ended" without an `[END]`.
    """
    token_ids = ops.arange(ops.shape(scores)[-1])
    reserved = ops.logical_or(ops.equal(token_ids, PAD_ID), ops.equal(token_ids, START_ID))
    return ops.where(reserved, _NEGATIVE_INFINITY, scores)


def _write_at(buffer, index, values):
    """`buffer[:, index] = values`, as a masked select: `(rows, N, ...)`, `(rows, ...)`.

    On TensorFlow, `keras.ops.slice_update` is an XLA kernel compiled on demand, about
    ten times slower per call inside a loop than this select on a CPU.
    """
    length = buffer.shape[1]
    mask_shape = (1, length) + (1,) * (len(buffer.shape) - 2)
    mask = ops.reshape(ops.equal(ops.arange(length), index), mask_shape)
    return ops.where(mask, ops.expand_dims(ops.cast(values, buffer.dtype), 1), buffer)


def _gather_rows(structure, rows):
    """Takes `rows` along axis 0 of every tensor in a nested structure."""
    return keras.tree.map_structure(lambda tensor: ops.take(tensor, rows, axis=0), structure)


def _repeat_rows(structure, times):
    """Repeats every row `times` times (`[a, b]` -> `[a, a, b, b]`), for beams."""
    return keras.tree.map_structure(
        lambda tensor: ops.repeat(tensor, times, axis=0), structure
    )


# --- greedy -----------------------------------------------------------------------------


def _greedy_loop(step_fn, state, batch, source_length, max_length, return_attention):
    """The greedy loop over fixed-size buffers.

    `step_fn(tokens, position, state) -> (logits (batch, V), weights (batch, S), state)`
    reads the token at `position` (or the whole prefix) from `tokens`
    `(batch, max_length + 1)`, whose column 0 is `[START]`.
    """
    buffers = {
        "tokens": ops.concatenate(
            [ops.full((batch, 1), START_ID, "int32"), ops.zeros((batch, max_length), "int32")],
            axis=1,
        )  # (batch, max_length + 1)
    }
    if return_attention:
        buffers["weights"] = ops.zeros((batch, max_length, source_length), "float32")
    finished = ops.zeros((batch,), "bool")
    position = ops.convert_to_tensor(0, "int32")

    def keep_going(position, buffers, finished, state):
        return ops.logical_and(position < max_length, ops.logical_not(ops.all(finished)))

    def step(position, buffers, finished, state):
        logits, step_weights, state = step_fn(buffers["tokens"], position, state)
        scores = _forbid_reserved(ops.cast(logits, "float32"))
        next_token = ops.cast(ops.argmax(scores, axis=-1), "int32")  # (batch,)
        next_token = ops.where(finished, PAD_ID, next_token)
        updated = {
            "tokens": _write_at(buffers["tokens"], position + 1, next_token)
        }
        if return_attention:
            step_weights = ops.where(
                ops.expand_dims(finished, 1), 0.0, ops.cast(step_weights, "float32")
            )  # (batch, S)
            updated["weights"] = _write_at(buffers["weights"], position, step_weights)
        finished = ops.logical_or(finished, ops.equal(next_token, END_ID))
        return position + 1, updated, finished, state

    steps, buffers, _, _ = ops.while_loop(keep_going, step, (position, buffers, finished, state))
    # Only the steps that ran: the longest output, [END] included.
    token_ids = buffers["tokens"][:, 1 : steps + 1]
    if not return_attention:
        return token_ids
    return token_ids, buffers["weights"][:, :steps]


def _greedy(model, source_ids, max_length, return_attention):
    decoder = _steps_for(model)
    source = _source_tensor(source_ids)
    batch, source_length = ops.shape(source)[0], ops.shape(source)[1]
    context, state = decoder.start(source, max_length)

    def step_fn(tokens, position, state):
        token = ops.take(tokens, position, axis=1)  # (batch,)
        logits, state, weights = decoder.step(token, position, context, state)
        return logits, weights, state

    return _greedy_loop(step_fn, state, batch, source_length, max_length, return_attention)


def _greedy_full_prefix(model, source_ids, max_length, return_attention):
    decoder = _steps_for(model)
    source = _source_tensor(source_ids)
    batch, source_length = ops.shape(source)[0], ops.shape(source)[1]
    encoded = decoder.encode(source)

    def step_fn(tokens, position, state):
        # The whole prefix, `[START] y_1 ... y_position`, through the whole decoder.
        logits, weights = decoder.prefix_step(tokens[:, : position + 1], encoded)
        return logits, weights, state

    return _greedy_loop(step_fn, (), batch, source_length, max_length, return_attention)


# --- beam search ------------------------------------------------------------------------


def _beam_search(model, source_ids, max_length, beam_width, length_penalty, return_attention):
    decoder = _steps_for(model)
    source = _source_tensor(source_ids)
    batch, source_length = ops.shape(source)[0], ops.shape(source)[1]
    rows = batch * beam_width  # row `b * beam_width + k` is beam k of sentence b
    context, state = decoder.start(source, max_length)
    # Beams of one sentence share its context; only the state is reordered at each step.
    context = _repeat_rows(context, beam_width)
    state = _repeat_rows(state, beam_width)

    buffers = {
        "tokens": ops.concatenate(
            [ops.full((rows, 1), START_ID, "int32"), ops.zeros((rows, max_length), "int32")],
            axis=1,
        )  # (batch * beam, max_length + 1)
    }
    if return_attention:
        buffers["weights"] = ops.zeros((rows, max_length, source_length), "float32")
    first_beam = ops.expand_dims(ops.equal(ops.arange(beam_width), 0), 0)  # (1, beam)
    # Only beam 0 is alive at first, so the first step does not pick one word K times.
    log_probs = ops.where(
        ops.broadcast_to(first_beam, (batch, beam_width)), 0.0, _NEGATIVE_INFINITY
    )  # (batch, beam)
    beams = {
        "log_probs": log_probs,
        "scores": log_probs,  # log_probs / lp(lengths)
        "lengths": ops.zeros((batch, beam_width), "int32"),
        "finished": ops.zeros((batch, beam_width), "bool"),
    }
    position = ops.convert_to_tensor(0, "int32")
    max_penalty = length_penalty_factor(max_length, length_penalty)

    def keep_going(position, buffers, beams, state):
        # A sentence is done when all its beams have ended, or when its best ended
        # hypothesis beats what any live beam could still reach: log-probabilities only
        # fall, and the penalty is largest at `max_length`.
        finished = beams["finished"]
        best_finished = ops.max(ops.where(finished, beams["scores"], _NEGATIVE_INFINITY), 1)
        best_alive = ops.max(
            ops.where(finished, _NEGATIVE_INFINITY, beams["log_probs"] / max_penalty), 1
        )
        done = ops.logical_or(ops.all(finished, axis=1), best_finished >= best_alive)
        return ops.logical_and(position < max_length, ops.logical_not(ops.all(done)))

    def step(position, buffers, beams, state):
        finished = beams["finished"]
        token = ops.take(buffers["tokens"], position, axis=1)  # (batch * beam,)
        logits, state, step_weights = decoder.step(token, position, context, state)
        # The model's log-probabilities (not renormalized without the reserved tokens).
        step_log_probs = _forbid_reserved(ops.log_softmax(ops.cast(logits, "float32"), axis=-1))
        vocabulary = ops.shape(step_log_probs)[-1]
        step_log_probs = ops.reshape(step_log_probs, (batch, beam_width, vocabulary))
        # An ended beam has one continuation, [PAD], at no cost: it keeps its score.
        pad_only = ops.where(ops.equal(ops.arange(vocabulary), PAD_ID), 0.0, _NEGATIVE_INFINITY)
        step_log_probs = ops.where(ops.expand_dims(finished, -1), pad_only, step_log_probs)
        candidate_log_probs = ops.expand_dims(beams["log_probs"], -1) + step_log_probs
        candidate_lengths = ops.where(finished, beams["lengths"], position + 1)  # (b, k)
        candidate_scores = candidate_log_probs / ops.expand_dims(
            length_penalty_factor(candidate_lengths, length_penalty), -1
        )  # (batch, beam, V)
        scores, best = ops.top_k(
            ops.reshape(candidate_scores, (batch, beam_width * vocabulary)), beam_width
        )  # (batch, beam): the new beams, best first
        parent = ops.cast(best // vocabulary, "int32")  # the old beam each new one extends
        next_token = ops.cast(best % vocabulary, "int32")
        beams = {
            "log_probs": ops.take_along_axis(
                ops.reshape(candidate_log_probs, (batch, beam_width * vocabulary)), best, 1
            ),
            "scores": scores,
            "lengths": ops.take_along_axis(candidate_lengths, parent, axis=1),
            "finished": ops.logical_or(
                ops.take_along_axis(finished, parent, axis=1), ops.equal(next_token, END_ID)
            ),
        }

        buffers = dict(buffers)
        if return_attention:
            # This step's weights belong to the old beams: write them before reordering.
            step_weights = ops.where(
                ops.reshape(finished, (-1, 1)), 0.0, ops.cast(step_weights, "float32")
            )  # (batch * beam, S)
            buffers["weights"] = _write_at(buffers["weights"], position, step_weights)
        # Reorder the buffers and the decoder state after the parents.
        parent_rows = ops.reshape(
            ops.expand_dims(ops.arange(batch) * beam_width, 1) + parent, (-1,)
        )  # (batch * beam,)
        buffers, state = _gather_rows((buffers, state), parent_rows)
        buffers["tokens"] = _write_at(
            buffers["tokens"], position + 1, ops.reshape(next_token, (-1,))
        )
        return position + 1, buffers, beams, state

    _, buffers, beams, _ = ops.while_loop(keep_going, step, (position, buffers, beams, state))

    # Per sentence, the best ended hypothesis; if none ended (`max_length` was reached),
    # the best live one.
    finished = beams["finished"]
    eligible = ops.logical_or(
        finished, ops.logical_not(ops.any(finished, axis=1, keepdims=True))
    )
    choice = ops.argmax(ops.where(eligible, beams["scores"], -float("inf")), axis=1)
    choice = ops.cast(choice, "int32")
    buffers = _gather_rows(buffers, ops.arange(batch) * beam_width + choice)
    chosen_lengths = ops.take_along_axis(beams["lengths"], ops.expand_dims(choice, 1), axis=1)
    longest = ops.max(chosen_lengths, initial=0)
    token_ids = buffers["tokens"][:, 1 : longest + 1]
    if not return_attention:
        return token_ids
    return token_ids, buffers["weights"][:, :longest]


# --- running eagerly or in a graph --------------------------------------------------------

# Compiled decoders per model, so eager callers (BLEU, sample translations) trace once.
_COMPILED = weakref.WeakKeyDictionary()


def _run(model, decode, source_ids, *options, jit_compile=False):
    """Runs `decode(model, source, *options)`, compiled once per model and options.

    On the TensorFlow backend, eager calls go through one `tf.function` (any batch and
    source length), compiled with XLA if `jit_compile`; inside a graph (`tf.function`,
    an export) and on the other backends the decoder runs as it is.
    """
    source = _source_tensor(source_ids)
    if keras.backend.backend() != "tensorflow":
        return decode(model, source, *options)
    import tensorflow as tf

    if not tf.executing_eagerly():
        return decode(model, source, *options)
    compiled = _COMPILED.setdefault(model, {})
    key = (decode.__name__, *options, jit_compile)
    if key not in compiled:
        # A weak reference, so that the cache does not keep the model alive.
        model_ref = weakref.ref(model)
        compiled[key] = tf.function(
            lambda source: decode(model_ref(), source, *options),
            input_signature=[tf.TensorSpec([None, None], tf.int32)],
            autograph=False,
            jit_compile=jit_compile,
        )
    return compiled[key](source)


# --- the public decoders -----------------------------------------------------------------


def greedy_decode(model, source_ids, max_length=64, return_attention=True, jit_compile=False):
    """Greedy decoding: at each step the most probable next token.

    The Transformer attends to cached keys and values (one position per step, `O(T)`);
    the RNN steps with its state. Works on any backend, eagerly or inside `tf.function`
    (on TensorFlow, eager calls run a cached `tf.function`).

    1. `context, state = start(encode(source))`, tokens `[START]`;
    2. repeat: `logits, state = step(token, state)`; `token = argmax(logits)`: `(batch,)`
       (never `[PAD]` or `[START]`); a sequence that produced `[END]` continues with
       `[PAD]`;
    3. stop when every sequence has produced `[END]`, or after `max_length` steps.

    Args:
        model: a `TransformerTranslator` or an `RNNTranslator`.
        source_ids: int `(batch, S)` source token ids, `[START] ... [END]`, padded with 0.
        max_length: the most tokens to generate per sentence, `[END]` included (the
            Transformer's cache holds this many positions).
        return_attention: also collect the cross-attention weights of every step.
        jit_compile: on the TensorFlow backend, compile the whole loop with XLA (fewer,
            fused kernels: several times faster per token for small batches, but
            compiled again for every new `(batch, S)` shape). Other backends ignore it.

    Returns:
        `(token_ids, cross_attention)`: int32 `(batch, T)` generated ids (without
        `[START]`; `[END]` then `[PAD]` after a sequence stops) and float32
        `(batch, T, S)` cross-attention weights of each generated token (the
        Transformer's last layer, heads averaged; zeros after `[END]`). `T <= max_length`
        is the longest output. Only `token_ids` with `return_attention=False`. Pass
        `token_ids` to `Tokenizer.detokenize`.

    Example:

    >>> model = TransformerTranslator(50, 40, num_layers=1, model_dim=16, num_heads=2,
    ...                               feed_forward_dim=32)
    >>> token_ids, cross_attention = greedy_decode(model, [[2, 5, 6, 3]], max_length=8)
    >>> int(token_ids.shape[1]) <= 8, tuple(cross_attention.shape)[2]
    (True, 4)
    """
    _check_positive_int("max_length", max_length)
    return _run(
        model, _greedy, source_ids, max_length, bool(return_attention), jit_compile=jit_compile
    )


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
    encoder runs once per sentence and its output (the Transformer's cross-attention
    keys and values) is shared by the sentence's beams.

    1. Beam 0 starts from `[START]` with log-probability 0 (the others from -inf, so
       the first step does not select one word `beam_width` times);
    2. each step extends every beam by every token but `[PAD]` and `[START]`:
       `log P(y_1..t) = log P(y_1..t-1) + log p(y_t | ...)`: `(batch, beam, V)`; an ended
       beam only by `[PAD]`, at no cost;
    3. the `beam_width` candidates with the best score `log P(Y) / lp(Y)`,
       `lp(Y) = ((5 + |Y|) / 6) ** length_penalty`, survive; the decoder state (the
       Transformer's self-attention caches) and the token buffers are gathered after
       their parent beams;
    4. a sentence is done when all its beams have ended, or when its best ended
       hypothesis scores above what a live beam could still reach; the loop stops when
       every sentence is done or after `max_length` steps;
    5. the answer is the best ended hypothesis (or, if none ended, the best live one).

    `beam_width=1` gives exactly `greedy_decode`.

    Args:
        model: a `TransformerTranslator` or an `RNNTranslator`.
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
    _check_positive_int("max_length", max_length)
    _check_length_penalty(length_penalty)
    options = (float(length_penalty), bool(return_attention))
    if hasattr(beam_width, "shape"):
        # A tensor, e.g. an exported signature's input: checked by the caller.
        return _beam_search(model, source_ids, max_length, beam_width, *options)
    _check_positive_int("beam_width", beam_width)
    return _run(
        model, _beam_search, source_ids, max_length, beam_width, *options,
        jit_compile=jit_compile,
    )


def greedy_decode_full_prefix(model, source_ids, max_length=64, return_attention=True):
    """Greedy decoding that re-runs the decoder over the whole prefix at every step.

    This is how the TensorFlow tutorials decode (their `Translator` even re-runs the
    encoder, which this does not): step `t` decodes `[START] y_1 ... y_t` from scratch,
    so it costs `O(t)` positions (`O(t^2)` attention), against one position for
    `greedy_decode`. It is the reference that `greedy_decode` must agree with, and the
    baseline of `benchmarks/decoding.py`. TensorFlow backend only (the prefix grows, so
    shapes change inside the loop).

    Args:
        model, source_ids, max_length, return_attention: as for `greedy_decode`.

    Returns:
        As for `greedy_decode`.
    """
    _check_positive_int("max_length", max_length)
    return _run(model, _greedy_full_prefix, source_ids, max_length, bool(return_attention))


def sequence_log_probability(model, source_ids, token_ids):
    """The model's log-probability of given outputs, from one teacher-forced pass.

    `log P(Y | X) = sum_t log p(y_t | y_<t, X)` over the tokens up to and including the
    first `[END]` (the `[PAD]`s after it do not count). Used to compare decoders: beam
    search should find outputs at least as probable as greedy decoding.

    Args:
        model: a `TransformerTranslator` or an `RNNTranslator`.
        source_ids: int `(batch, S)`.
        token_ids: int `(batch, T)` outputs as the decoders return them (no `[START]`).

    Returns:
        float32 `(batch,)`.
    """
    source = _source_tensor(source_ids)
    targets = ops.cast(ops.convert_to_tensor(token_ids), "int32")  # (batch, T)
    batch = ops.shape(targets)[0]
    target_in = ops.concatenate(
        [ops.full((batch, 1), START_ID, "int32"), targets[:, :-1]], axis=1
    )  # (batch, T)
    logits = model((source, target_in), training=False)  # (batch, T, V)
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    token_log_probs = ops.take_along_axis(log_probs, ops.expand_dims(targets, -1), axis=-1)
    real = ops.not_equal(targets, PAD_ID)
    return ops.sum(ops.where(real, token_log_probs[..., 0], 0.0), axis=1)
