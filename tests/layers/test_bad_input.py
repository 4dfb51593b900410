"""Bad input gets a `ValueError` naming the argument, what was received and what was expected."""

import numpy as np
import pytest

import attention_layers as al

X3 = np.zeros((2, 4, 8), "float32")
X2 = np.zeros((2, 8), "float32")


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: al.AdditiveAttention(4)(X2, X3), r"`query` must be 3-D.*\(2, 8\)"),
        (lambda: al.MultiHeadAttention(2, 4)(X3, X2), r"`value` must be 3-D.*\(2, 8\)"),
        (
            lambda: al.LuongAttention("general")(X3, X3, np.zeros((2, 5, 8), "float32")),
            r"`key` has shape \(2, 5, 8\).*length of `value` \(4\)",
        ),
        (
            lambda: al.MultiHeadAttention(2, 4)(X3, X3, attention_mask=np.ones((2, 4), bool)),
            r"`attention_mask` must have shape \(batch, T_q, T_k\) = \(2, 4, 4\); received shape \(2, 4\)",
        ),
        (
            lambda: al.ScaledDotProductAttention()(X3, X3, value_mask=np.ones((2, 5), bool)),
            r"`value_mask` must have shape \(batch, T_k\) = \(2, 4\); received shape \(2, 5\)",
        ),
        (
            lambda: al.ScaledDotProductAttention()(X3, np.zeros((2, 4, 6), "float32")),
            r"`key` has shape \(2, 4, 6\).*depth of `query` \(8\)",
        ),
        (lambda: al.MultiHeadAttention(0, 4), r"`num_heads` must be a positive int; received 0"),
        (lambda: al.MultiHeadAttention(2, 4, sliding_window=0), r"`sliding_window`.*received 0"),
        (lambda: al.SelfAttention(4, sliding_window=-3), r"`sliding_window`.*received -3"),
        (lambda: al.AdditiveAttention(4, dropout=1.5), r"`dropout` must be a float in \[0, 1\)"),
        (lambda: al.LuongAttention("cosine"), r"`score` must be one of"),
        (lambda: al.LuongAttention("concat"), r"`units` must be a positive int; received None"),
        (
            lambda: al.SpatialAttention(4)(X2, X3),
            r"`value` must be 4-D with shape \(batch, H, W, channels\); received a tensor of shape \(2, 4, 8\)",
        ),
        (
            lambda: al.LocationAttention(max_length=3)(X3, X3),
            r"`value` has 4 positions.*more than `max_length`=3",
        ),
        (
            lambda: al.PositionEmbedding(max_length=3)(X3),
            r"`inputs` has 4 positions.*`max_length`=3",
        ),
        (
            lambda: al.LocationSensitiveAttention(4)(X3, X3, previous_alignment=np.zeros((2, 5))),
            r"`previous_alignment` must have shape \(batch, T_k\) = \(2, 4\)",
        ),
        (lambda: al.MultiHeadAttention(2, 4, attention_axes=(1,)), r"`attention_axes` must be None"),
    ],
)
def test_clear_errors(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
