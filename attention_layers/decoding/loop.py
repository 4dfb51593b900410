"""The parts that greedy decoding and beam search share: fixed-size buffers written one
step at a time, so that a loop traces once (`keras.ops.while_loop`)."""

import keras
from keras import ops

from attention_layers.utils.token_ids import PAD_ID, START_ID

# Stands in for log(0): finite, so that sums and divisions never make NaNs.
NEGATIVE_INFINITY = -1e9


def token_buffers(rows, max_length, source_length, return_attention):
    """`{"tokens": int32 (rows, max_length + 1)}`, column 0 `[START]`, the rest `[PAD]`;
    with `return_attention` also `"weights"`: float32 zeros `(rows, max_length, S)`."""
    buffers = {
        "tokens": ops.concatenate(
            [ops.full((rows, 1), START_ID, "int32"), ops.zeros((rows, max_length), "int32")],
            axis=1,
        )  # (rows, max_length + 1)
    }
    if return_attention:
        buffers["weights"] = ops.zeros((rows, max_length, source_length), "float32")
    return buffers


def forbid_reserved(scores):
    """Rules out `[PAD]` and `[START]` as the next token: `(..., V)` -> `(..., V)`.

    Neither is ever a training target, so their logits are untrained, and a generated
    `[PAD]` would read as "this sequence has ended" without an `[END]`.
    """
    token_ids = ops.arange(ops.shape(scores)[-1])
    reserved = ops.logical_or(ops.equal(token_ids, PAD_ID), ops.equal(token_ids, START_ID))
    return ops.where(reserved, NEGATIVE_INFINITY, scores)


def write_at(buffer, index, values):
    """`buffer[:, index] = values`, as a masked select: `(rows, N, ...)`, `(rows, ...)`.

    On TensorFlow, `keras.ops.slice_update` is an XLA kernel compiled on demand, about
    ten times slower per call inside a loop than this select on a CPU.
    """
    length = buffer.shape[1]
    mask_shape = (1, length) + (1,) * (len(buffer.shape) - 2)
    mask = ops.reshape(ops.equal(ops.arange(length), index), mask_shape)
    return ops.where(mask, ops.expand_dims(ops.cast(values, buffer.dtype), 1), buffer)


def write_weights(buffer, position, step_weights, finished):
    """Writes one step's weights `(rows, S)` at `position`, zeros where `finished`
    `(rows, 1)` says the row had already ended."""
    step_weights = ops.where(finished, 0.0, ops.cast(step_weights, "float32"))  # (rows, S)
    return write_at(buffer, position, step_weights)


def decoded(buffers, length, return_attention):
    """The first `length` generated tokens (and their weights) of the buffers."""
    token_ids = buffers["tokens"][:, 1 : length + 1]
    if not return_attention:
        return token_ids
    return token_ids, buffers["weights"][:, :length]


def gather_rows(structure, rows):
    """Takes `rows` along axis 0 of every tensor in a nested structure."""
    return keras.tree.map_structure(lambda tensor: ops.take(tensor, rows, axis=0), structure)


def repeat_rows(structure, times):
    """Repeats every row `times` times (`[a, b]` -> `[a, a, b, b]`), for beams."""
    return keras.tree.map_structure(
        lambda tensor: ops.repeat(tensor, times, axis=0), structure
    )
