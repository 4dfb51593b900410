"""Argument checks used everywhere: each raises a `ValueError` naming the argument and what
was expected, so bad input never reaches a backend op.

Scalars (constructor and command-line arguments):

>>> check_positive_int("units", 8)
>>> check_rate("dropout", 1.5)
Traceback (most recent call last):
...
ValueError: `dropout` must be a float in [0, 1); received 1.5.

Shapes (call arguments; a `None` size is unknown and always accepted):

>>> check_rank("query", (2, 8), 3, "(batch, T_q, dim)")
Traceback (most recent call last):
...
ValueError: `query` must be 3-D with shape (batch, T_q, dim); received a tensor of shape (2, 8).
"""

import math


def _is_int(value):
    # bool is an int in Python, but `units=True` is a mistake, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_positive_int(name, value):
    """`value` is an int >= 1 (not a bool)."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"`{name}` must be a positive int; received {value!r}.")


def check_positive_ints(**values):
    """Each keyword's value is an int >= 1: `check_positive_ints(units=units, heads=heads)`."""
    for name, value in values.items():
        check_positive_int(name, value)


def check_optional_positive_int(name, value):
    """`value` is `None` or an int >= 1 (not a bool)."""
    if value is not None and (not _is_int(value) or value < 1):
        raise ValueError(f"`{name}` must be None or a positive int; received {value!r}.")


def check_rate(name, value):
    """`value` is a float (or int) in `[0, 1)`, e.g. a dropout rate."""
    if not _is_number(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1); received {value!r}.")


def check_non_negative_float(name, value):
    """`value` is a finite number >= 0."""
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a float >= 0; received {value!r}.")


# The most weights one table of a model (an embedding, a kernel) may hold: 2**30 float32
# weights are 4 GiB, eighty times the largest table these models train (SST-2's 65,521 x
# 192 bigram embedding holds 12.6 million). A config that asks for more, such as a crafted
# `.keras` file declaring a 2,000,000,000-word vocabulary, is refused before anything is
# allocated; so is a stack of more than `MAX_LAYERS` blocks.
MAX_TABLE_WEIGHTS = 2**30
MAX_LAYERS = 1024


class SizeLimitError(ValueError):
    """A model's config asks for a table above `MAX_TABLE_WEIGHTS` or too many layers."""


def check_table_sizes(tables):
    """Each table, `{"rows_name x columns_name": (rows, columns)}`, holds at most
    `MAX_TABLE_WEIGHTS` weights; the sizes are positive ints already checked.

    >>> check_table_sizes({"vocabulary_size x model_dim": (2_000_000_000, 128)})
    Traceback (most recent call last):
    ...
    attention_layers.utils.checks.SizeLimitError: `vocabulary_size x model_dim` would be 2,000,000,000 x 128 = 256,000,000,000 weights (954 GiB of float32), above the limit of 1,073,741,824 weights per table (MAX_TABLE_WEIGHTS).
    """
    for name, (rows, columns) in tables.items():
        if rows * columns > MAX_TABLE_WEIGHTS:
            raise SizeLimitError(
                f"`{name}` would be {rows:,} x {columns:,} = {rows * columns:,} weights "
                f"({rows * columns * 4 / 2**30:,.0f} GiB of float32), above the limit of "
                f"{MAX_TABLE_WEIGHTS:,} weights per table (MAX_TABLE_WEIGHTS)."
            )


def check_layer_count(name, value):
    """`value` (a positive int) is at most `MAX_LAYERS`."""
    if value > MAX_LAYERS:
        raise SizeLimitError(f"`{name}` must be at most {MAX_LAYERS:,}; received {value:,}.")


def check_one_of(name, value, choices):
    """`value` is one of `choices`."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}; received {value!r}.")


def check_rank(name, shape, rank, layout):
    """`shape` has `rank` dimensions; `layout` names them, e.g. `"(batch, T, dim)"`."""
    shape = tuple(shape)
    if len(shape) != rank:
        raise ValueError(
            f"`{name}` must be {rank}-D with shape {layout}; received a tensor of shape {shape}."
        )


def check_size(name, shape, axis, expected, expected_what):
    """`shape[axis]` equals `expected` (skipped when either is unknown)."""
    size = shape[axis]
    if size is not None and expected is not None and size != expected:
        raise ValueError(
            f"`{name}` has shape {tuple(shape)}, but its axis {axis} must equal "
            f"{expected_what} ({expected})."
        )


def check_shape(name, tensor, expected_shape, layout):
    """`tensor` (or `None`: nothing to check) has the rank and known sizes of `expected_shape`."""
    if tensor is None:
        return
    shape = tuple(tensor.shape)
    compatible = len(shape) == len(expected_shape) and all(
        got is None or want is None or got == want
        for got, want in zip(shape, expected_shape, strict=True)
    )
    if not compatible:
        raise ValueError(
            f"`{name}` must have shape {layout} = {tuple(expected_shape)}; "
            f"received shape {shape}."
        )
