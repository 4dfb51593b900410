"""Argument checks and conversions shared by the plots, the HTML view and the callback."""

import re

import keras
import numpy as np


def to_numpy(name, value):
    """`value` (numpy array, backend tensor or nested list) as a float32 numpy array."""
    if value is None:
        raise ValueError(f"`{name}` is required; received None.")
    if not isinstance(value, np.ndarray):
        try:
            value = keras.ops.convert_to_numpy(value)
        except (TypeError, ValueError):
            value = np.asarray(value)
    # float32 also covers bfloat16 and float16 weights, which matplotlib cannot draw.
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` must hold numbers; received {type(value).__name__}.") from error


def to_tokens(name, tokens):
    """`tokens` as a list of `str` (bytes are decoded as UTF-8), or None."""
    if tokens is None:
        return None
    if isinstance(tokens, (str, bytes)):
        raise ValueError(
            f"`{name}` must be a list of tokens, not a single string; "
            f"split it first (e.g. `{name}=sentence.split()`)."
        )
    if not isinstance(tokens, (list, tuple)):
        if hasattr(tokens, "numpy"):  # a tf.string tensor
            tokens = tokens.numpy()
        tokens = np.asarray(tokens).tolist()
    return [
        token.decode("utf-8", errors="replace") if isinstance(token, bytes) else str(token)
        for token in tokens
    ]


def check_ndim(name, weights, allowed, layout):
    """Raise a `ValueError` naming `name` unless `weights.ndim` is in `allowed`."""
    if weights.ndim not in allowed:
        raise ValueError(
            f"`{name}` must have shape {layout}; received an array of shape {weights.shape}."
        )


def check_tokens(weights_name, shape, axis, tokens, tokens_name, meaning):
    """Raise a `ValueError` unless `len(tokens) == shape[axis]` (no-op when tokens is None)."""
    if tokens is not None and len(tokens) != shape[axis]:
        raise ValueError(
            f"`{weights_name}` has shape {tuple(shape)} but {len(tokens)} {tokens_name} "
            f"were given; {tokens_name} needs one token per {meaning} "
            f"(axis {axis % len(shape)}, size {shape[axis]})."
        )


def safe_name(name):
    """`name` made safe for a file name: runs of other characters become `_`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "attention"
