"""`MultiHeadAttention` takes every argument of the installed `keras.layers.MultiHeadAttention`."""

import inspect

import keras
import numpy as np
import pytest

import attention_layers as al


def _parameters(function):
    return [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
    ]


@pytest.mark.parametrize("method", ["__init__", "call"])
def test_every_keras_argument_is_accepted_under_the_same_name(method):
    ours = _parameters(getattr(al.MultiHeadAttention, method))
    theirs = _parameters(getattr(keras.layers.MultiHeadAttention, method))
    assert [name for name in theirs if name not in ours] == []
    # The call arguments also come in the same order, so positional calls mean the same.
    if method == "call":
        assert ours[: len(theirs)] == theirs


def test_gated_attention_equals_keras():
    rng = np.random.default_rng(4)
    query = rng.normal(size=(2, 5, 16)).astype("float32")
    value = rng.normal(size=(2, 6, 12)).astype("float32")
    reference = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, use_gate=True)
    ours = al.MultiHeadAttention(num_heads=2, key_dim=4, use_gate=True)
    expected = reference(query, value)
    ours(query, value)
    ours.set_weights(reference.get_weights())  # the same weights in the same order
    for got in (ours(query, value), ours(query, value, return_attention_scores=True)[0]):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(expected), atol=1e-5
        )


def test_flash_attention_in_the_keras_meaning():
    x = np.random.default_rng(5).normal(size=(2, 5, 8)).astype("float32")
    explicit = al.MultiHeadAttention(2, 4, flash_attention=False, attention_axes=None)
    fused = al.MultiHeadAttention(2, 4, flash_attention=True)
    explicit(x, x)
    fused(x, x)
    fused.set_weights(explicit.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fused(x, x)), keras.ops.convert_to_numpy(explicit(x, x)),
        atol=1e-5,
    )
    assert explicit.get_config()["flash_attention"] is False
    with pytest.raises(ValueError, match="`flash_attention=True` cannot apply `dropout`"):
        al.MultiHeadAttention(2, 4, dropout=0.1, flash_attention=True)
