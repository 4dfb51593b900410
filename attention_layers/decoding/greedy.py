"""Greedy decoding: at each step the most probable next token."""

from keras import ops

from attention_layers.decoding.compiled import run_compiled
from attention_layers.decoding.interface import check_translator, source_tensor
from attention_layers.decoding.loop import (
    decoded,
    forbid_reserved,
    token_buffers,
    write_at,
    write_weights,
)
from attention_layers.utils.checks import check_positive_int
from attention_layers.utils.token_ids import END_ID, PAD_ID


def greedy_loop(step_fn, state, batch, source_length, max_length, return_attention):
    """The greedy loop over fixed-size buffers.

    `step_fn(tokens, position, state) -> (logits (batch, V), weights (batch, S), state)`
    reads the token at `position` (or the whole prefix) from `tokens`
    `(batch, max_length + 1)`, whose column 0 is `[START]`.
    """
    buffers = token_buffers(batch, max_length, source_length, return_attention)
    finished = ops.zeros((batch,), "bool")
    position = ops.convert_to_tensor(0, "int32")

    def keep_going(position, buffers, finished, state):
        return ops.logical_and(position < max_length, ops.logical_not(ops.all(finished)))

    def step(position, buffers, finished, state):
        logits, step_weights, state = step_fn(buffers["tokens"], position, state)
        scores = forbid_reserved(ops.cast(logits, "float32"))
        next_token = ops.cast(ops.argmax(scores, axis=-1), "int32")  # (batch,)
        next_token = ops.where(finished, PAD_ID, next_token)
        updated = {"tokens": write_at(buffers["tokens"], position + 1, next_token)}
        if return_attention:
            updated["weights"] = write_weights(
                buffers["weights"], position, step_weights, ops.expand_dims(finished, 1)
            )
        finished = ops.logical_or(finished, ops.equal(next_token, END_ID))
        return position + 1, updated, finished, state

    steps, buffers, _, _ = ops.while_loop(keep_going, step, (position, buffers, finished, state))
    # Only the steps that ran: the longest output, [END] included.
    return decoded(buffers, steps, return_attention)


def _greedy(model, source_ids, max_length, return_attention):
    source = source_tensor(source_ids)
    batch, source_length = ops.shape(source)[0], ops.shape(source)[1]
    context, state = model.start_decoding(source, max_length)

    def step_fn(tokens, position, state):
        token = ops.take(tokens, position, axis=1)  # (batch,)
        logits, state, weights = model.decode_step(token, position, context, state)
        return logits, weights, state

    return greedy_loop(step_fn, state, batch, source_length, max_length, return_attention)


def greedy_decode(model, source_ids, max_length=64, return_attention=True, jit_compile=False):
    """Greedy decoding: at each step the most probable next token.

    The Transformer attends to cached keys and values (one position per step, `O(T)`);
    the RNN steps with its state. Works on any backend, eagerly or inside `tf.function`
    (on TensorFlow, eager calls run a cached `tf.function`).

    1. `context, state = model.start_decoding(source)`, tokens `[START]`;
    2. repeat: `logits, state = model.decode_step(token, state)`;
       `token = argmax(logits)`: `(batch,)` (never `[PAD]` or `[START]`); a sequence
       that produced `[END]` continues with `[PAD]`;
    3. stop when every sequence has produced `[END]`, or after `max_length` steps.

    Args:
        model: a translator with the decoding interface (`TransformerTranslator`,
            `RNNTranslator`; see `attention_layers.decoding.Translator`).
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
    check_positive_int("max_length", max_length)
    check_translator(model)
    return run_compiled(
        model, _greedy, source_ids, max_length, bool(return_attention), jit_compile=jit_compile
    )
