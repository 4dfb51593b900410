"""The Transformer encoder stack that the translator and the classifier share.

Vaswani et al. 2017, §3.1-3.5: token embeddings scaled by `sqrt(d_model)` (§3.4), plus the
sinusoidal position encoding (§3.5), dropout, `num_layers` encoder blocks, and (pre-norm
stacks) a final layer normalization (Xiong et al. 2020).

It is a mixin of the models, not a layer of its own, so that the models keep their
sub-layers as direct attributes (`positions`, `embedding_dropout`, `encoder_blocks`,
`encoder_norm`): the weights keep the paths and order that `.keras` files written before
it was shared hold.
"""

import math

import keras
from keras import ops

from attention_layers.layers import SinusoidalPositionalEncoding, TransformerEncoderBlock
from attention_layers.layers.positional import sinusoidal_encoding
from attention_layers.utils.checks import (
    check_layer_count,
    check_positive_ints,
    check_rate,
    check_table_sizes,
)

# The stack's part of the model's `get_config`: the attributes `_set_stack_config` keeps.
STACK_CONFIG = ("num_layers", "model_dim", "num_heads", "feed_forward_dim", "dropout", "norm_first")


def final_norm(name):
    """The normalization that ends a pre-norm stack (Xiong et al. 2020)."""
    return keras.layers.LayerNormalization(epsilon=1e-5, name=name)


class TransformerEncoderStack:
    """Mixin for a `keras.Model` whose constructor calls `_set_stack_config` and creates an
    `encoder_norm` (`final_norm("encoder_norm")`, where its weights belong in the model's
    order)."""

    def _set_stack_config(
        self, num_layers, model_dim, num_heads, feed_forward_dim, dropout, norm_first
    ):
        """Checks the stack's hyper-parameters and keeps them as attributes."""
        check_positive_ints(
            num_layers=num_layers, model_dim=model_dim, num_heads=num_heads,
            feed_forward_dim=feed_forward_dim,
        )
        check_rate("dropout", dropout)
        check_layer_count("num_layers", num_layers)
        check_table_sizes({
            "model_dim x model_dim": (model_dim, model_dim),
            "model_dim x feed_forward_dim": (model_dim, feed_forward_dim),
        })
        if model_dim % num_heads:
            raise ValueError(
                f"`model_dim` ({model_dim}) must be divisible by `num_heads` ({num_heads})."
            )
        self.num_layers = num_layers
        self.model_dim = model_dim
        self.num_heads = num_heads
        self.feed_forward_dim = feed_forward_dim
        self.dropout = dropout
        self.norm_first = norm_first

    def _block_args(self):
        """The arguments of the model's Transformer blocks, in the blocks' (keras-hub's)
        names; the models keep `feed_forward_dim` and `norm_first`, so that their configs
        and the training flags stay as they are."""
        return {
            "num_heads": self.num_heads,
            "intermediate_dim": self.feed_forward_dim,
            "dropout": self.dropout,
            "normalize_first": self.norm_first,
        }

    def _init_encoder_stack(self, num_layers):
        """Creates `positions`, `embedding_dropout` and `encoder_blocks` (`encoder_i`)."""
        self.positions = SinusoidalPositionalEncoding(name="positions")
        self.embedding_dropout = keras.layers.Dropout(self.dropout, name="embedding_dropout")
        self.encoder_blocks = [
            TransformerEncoderBlock(**self._block_args(), name=f"encoder_{index}")
            for index in range(num_layers)
        ]

    def _add_positions(self, embedded, training, offset=None):
        """`dropout(embedded * sqrt(d_model) + PE)`: `(batch, T, d)` -> `(batch, T, d)`.

        With `offset` (an int scalar), `embedded` is the one position `offset` of a
        sequence (cached decoding), `(batch, 1, d)`.
        """
        scaled = embedded * ops.cast(math.sqrt(self.model_dim), embedded.dtype)
        if offset is None:
            positioned = self.positions(scaled)
        else:
            row = sinusoidal_encoding(
                ops.reshape(offset, (1,)), self.model_dim, self.positions.max_wavelength
            )  # (1, d)
            positioned = scaled + ops.cast(ops.expand_dims(row, 0), scaled.dtype)
        return self.embedding_dropout(positioned, training=training)

    def _encode_embedded(self, embedded, mask, training, return_attention=False):
        """Token embeddings `(batch, T, d)` (not yet scaled) -> `(encoded (batch, T, d),
        {"encoder_i/self_attention": (batch, heads, T, T)})`, the dict empty unless
        `return_attention` (without weights the blocks may use the fused kernel)."""
        x = self._add_positions(embedded, training)
        attention = {}
        for index, block in enumerate(self.encoder_blocks):
            if return_attention:
                x, weights = block(x, mask=mask, return_attention_scores=True, training=training)
                attention[f"encoder_{index}/self_attention"] = weights
            else:
                x = block(x, mask=mask, training=training)
        if self.norm_first:
            x = self.encoder_norm(x)
        return x, attention
