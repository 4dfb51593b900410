"""Argument checks and conversions shared by the plots, the HTML view and the callback."""

import io
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


def escape_label(token):
    """`token` as matplotlib label text: a `$` is literal, never the start of mathtext."""
    return token.replace("$", r"\$")


def as_layers(weights, layer_names):
    """`weights` as one `(heads, T_q, T_k)` array per layer, with names and error labels.

    `weights` is an array `(T_q, T_k)`, `(heads, T_q, T_k)` or `(layers, heads, T_q, T_k)`,
    or a dict `{name: array}` or a list of arrays, each `(T_q, T_k)` or `(heads, T_q, T_k)`.
    Returns `(layers, names, labels)`: `names` is None when neither `weights` (a dict) nor
    `layer_names` gives them; `labels[i]` names layer `i` in error messages.
    """
    if isinstance(weights, dict):
        if layer_names is not None:
            raise ValueError(
                "`layer_names` must be None when `weights` is a dict: its keys name the layers."
            )
        names = [str(name) for name in weights]
        labels = [f"weights[{name!r}]" for name in weights]
        layers = [
            to_numpy(label, value) for label, value in zip(labels, weights.values(), strict=True)
        ]
    elif isinstance(weights, (list, tuple)):
        names = layer_names
        labels = [f"weights[{index}]" for index in range(len(weights))]
        layers = [to_numpy(label, value) for label, value in zip(labels, weights, strict=True)]
    else:
        array = to_numpy("weights", weights)
        check_ndim(
            "weights",
            array,
            (2, 3, 4),
            "(T_q, T_k), (heads, T_q, T_k) or (layers, heads, T_q, T_k)",
        )
        layers = list(array) if array.ndim == 4 else [array]
        labels = [f"weights[{index}]" for index in range(len(layers))]
        if array.ndim < 4:
            labels = ["weights"]
        names = layer_names
    if not layers:
        raise ValueError("`weights` holds no layers.")
    for label, layer in zip(labels, layers, strict=True):
        check_ndim(label, layer, (2, 3), "(T_q, T_k) or (heads, T_q, T_k)")
    layers = [layer[None] if layer.ndim == 2 else layer for layer in layers]
    if names is not None and len(names) != len(layers):
        raise ValueError(
            f"`layer_names` has {len(names)} names but `weights` holds {len(layers)} layers."
        )
    return layers, names, labels


# The axis titles of a cross-attention map, in the heatmaps and the HTML view alike.
SOURCE_LABEL = "source words (keys)"
TARGET_LABEL = "output words (queries)"

_LAYER_PART = re.compile(r"([A-Za-z]+)_(\d+)")

_PART_NAMES = {
    "self_attention": "self-attention",
    "cross_attention": "cross-attention",
    "pooling": "attention pooling",
}


def readable_name(name):
    """A model's attention name as a reader says it, layers counted from 1.

    `"decoder_1/cross_attention"` -> `"Decoder layer 2, cross-attention"`,
    `"encoder_0/self_attention"` -> `"Encoder layer 1, self-attention"`,
    `"pooling"` -> `"Attention pooling"`; other names keep their words.
    """
    parts = []
    for part in str(name).split("/"):
        match = _LAYER_PART.fullmatch(part)
        if match:
            parts.append(f"{match.group(1)} layer {int(match.group(2)) + 1}")
        else:
            parts.append(_PART_NAMES.get(part, part.replace("_", " ")))
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def counted_name(name):
    """A model's attention name with its layers counted from 1, for file names and tags.

    `"decoder_0/cross_attention"` -> `"decoder_1/cross_attention"`; other parts are kept.
    The models count their layers from 0 (`decoder_0`), as Python does; everything a
    person reads (titles, file names, TensorBoard tags) counts from 1.
    """
    return "/".join(
        f"{match.group(1)}_{int(match.group(2)) + 1}" if (match := _LAYER_PART.fullmatch(part))
        else part
        for part in str(name).split("/")
    )


def png_bytes(figure, dpi=100):
    """The PNG bytes of a matplotlib `figure`, drawn at `dpi`."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
