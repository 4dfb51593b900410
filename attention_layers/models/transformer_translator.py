"""The Transformer translator (Vaswani et al. 2017), built from our blocks."""

import math

import keras
from keras import ops

from attention_layers.layers import (
    SinusoidalPositionalEncoding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from attention_layers.layers.positional import sinusoidal_encoding


@keras.saving.register_keras_serializable(package="attention_layers")
class TransformerTranslator(keras.Model):
    """An encoder-decoder Transformer for translation, trained with teacher forcing.

    Vaswani et al. 2017, §3 and Figure 1: token embeddings scaled by `sqrt(d_model)` (§3.4)
    plus sinusoidal positions (§3.5), `num_layers` encoder blocks over the source,
    `num_layers` decoder blocks (causal self-attention, cross-attention to the encoder
    output, feed-forward) over the shifted target, and a linear layer to target-word logits.

    1. `memory = encoder(embed(source))`: `(batch, S, d_model)`;
    2. `states = decoder(embed(target_in), memory)`: `(batch, T, d_model)`;
    3. `logits = states W`: `(batch, T, target_vocab_size)`.

    `get_attention_weights` returns every decoder layer's cross-attention per head, and
    `decode_step` runs one position with cached keys and values (for greedy and beam
    search).

    Args:
        source_vocab_size: source vocabulary size (id 0 is padding).
        target_vocab_size: target vocabulary size (id 0 is padding).
        num_layers: encoder and decoder blocks (each).
        model_dim: `d_model`.
        num_heads: attention heads per block.
        feed_forward_dim: hidden size of the feed-forward networks.
        dropout: in every block and on the embeddings.
        norm_first: pre-norm blocks (more stable on short schedules) or post-norm (the
            paper).

    Call arguments:
        inputs: `(source_ids (batch, S), target_in_ids (batch, T))`.
        training: whether dropout is active.

    Returns:
        Logits `(batch, T, target_vocab_size)`.

    Example:

    >>> import numpy as np
    >>> model = TransformerTranslator(50, 40, num_layers=1, model_dim=16, num_heads=2,
    ...                               feed_forward_dim=32)
    >>> source = np.array([[5, 6, 7, 0]]); target_in = np.array([[1, 8, 9]])
    >>> tuple(model((source, target_in)).shape)
    (1, 3, 40)
    """

    def __init__(
        self,
        source_vocab_size,
        target_vocab_size,
        num_layers=2,
        model_dim=128,
        num_heads=4,
        feed_forward_dim=512,
        dropout=0.1,
        norm_first=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, size in (
            ("source_vocab_size", source_vocab_size),
            ("target_vocab_size", target_vocab_size),
            ("num_layers", num_layers),
            ("model_dim", model_dim),
            ("num_heads", num_heads),
            ("feed_forward_dim", feed_forward_dim),
        ):
            if not isinstance(size, int) or size < 1:
                raise ValueError(f"`{name}` must be a positive int; received {size!r}.")
        if model_dim % num_heads:
            raise ValueError(
                f"`model_dim` ({model_dim}) must be divisible by `num_heads` ({num_heads})."
            )
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.num_layers = num_layers
        self.model_dim = model_dim
        self.num_heads = num_heads
        self.feed_forward_dim = feed_forward_dim
        self.dropout = dropout
        self.norm_first = norm_first

        block_args = {
            "num_heads": num_heads,
            "feed_forward_dim": feed_forward_dim,
            "dropout": dropout,
            "norm_first": norm_first,
        }
        self.source_embedding = keras.layers.Embedding(
            source_vocab_size, model_dim, name="source_embedding"
        )
        self.target_embedding = keras.layers.Embedding(
            target_vocab_size, model_dim, name="target_embedding"
        )
        self.positions = SinusoidalPositionalEncoding(name="positions")
        self.embedding_dropout = keras.layers.Dropout(dropout)
        self.encoder_blocks = [
            TransformerEncoderBlock(**block_args, name=f"encoder_{index}")
            for index in range(num_layers)
        ]
        self.decoder_blocks = [
            TransformerDecoderBlock(**block_args, name=f"decoder_{index}")
            for index in range(num_layers)
        ]
        # Pre-norm stacks end with a normalization (Xiong et al. 2020).
        self.encoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")
        self.decoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")
        self.output_projection = keras.layers.Dense(target_vocab_size, name="logits")

    def build(self, input_shape=None):
        # Built explicitly (not by tracing `call`), so that `encode`, `decode_step` and
        # `get_attention_weights` work on a fresh model and a loaded file gets its weights.
        sequence = (None, None, self.model_dim)
        self.source_embedding.build((None, None))
        self.target_embedding.build((None, None))
        for block in self.encoder_blocks:
            block.build(sequence)
        for block in self.decoder_blocks:
            block.build(sequence, sequence)
        self.encoder_norm.build(sequence)
        self.decoder_norm.build(sequence)
        self.output_projection.build(sequence)

    def _embed(self, embedding, ids, training, offset=None):
        scaled = embedding(ids) * ops.cast(math.sqrt(self.model_dim), self.compute_dtype)
        if offset is None:
            embedded = self.positions(scaled)
        else:
            # A single position (cached decoding): the encoding of `offset` alone.
            row = sinusoidal_encoding(
                ops.reshape(offset, (1,)), self.model_dim, self.positions.max_wavelength
            )
            embedded = scaled + ops.cast(ops.expand_dims(row, 0), scaled.dtype)
        return self.embedding_dropout(embedded, training=training)

    def encode(self, source, training=None):
        """Source ids `(batch, S)` -> `(memory (batch, S, d_model), source_mask (batch, S))`."""
        if not self.built:
            self.build()
        source_mask = ops.not_equal(source, 0)
        x = self._embed(self.source_embedding, source, training)
        for block in self.encoder_blocks:
            x = block(x, mask=source_mask, training=training)
        if self.norm_first:
            x = self.encoder_norm(x)
        return x, source_mask

    def decode(self, target_in, memory, source_mask, training=None, return_attention=False):
        """Teacher-forced decoding: logits `(batch, T, V)` (and per-layer cross-attention)."""
        target_mask = ops.not_equal(target_in, 0)
        x = self._embed(self.target_embedding, target_in, training)
        attention = {}
        for index, block in enumerate(self.decoder_blocks):
            x, weights = block(
                x, memory, inputs_mask=target_mask, context_mask=source_mask,
                return_attention_scores=True, training=training,
            )
            attention[f"decoder_{index}/cross_attention"] = weights["cross_attention"]
            attention[f"decoder_{index}/self_attention"] = weights["self_attention"]
        if self.norm_first:
            x = self.decoder_norm(x)
        logits = self.output_projection(x)
        return (logits, attention) if return_attention else logits

    def call(self, inputs, training=None):
        source, target_in = inputs
        memory, source_mask = self.encode(source, training)
        return self.decode(target_in, memory, source_mask, training)

    def get_attention_weights(self, inputs):
        """Per layer `{"decoder_i/cross_attention": (batch, heads, T, S), ...}`."""
        source, target_in = inputs
        memory, source_mask = self.encode(source)
        _, attention = self.decode(target_in, memory, source_mask, return_attention=True)
        return attention

    # --- cached decoding ---------------------------------------------------------------

    def start_decoding(self, memory, max_length):
        """Caches for `decode_step`: per layer the cross-attention keys/values of `memory`
        and empty self-attention caches of `max_length` positions."""
        batch = ops.shape(memory)[0]
        return [
            (
                block.cross_attention_cache(memory),
                block.empty_self_attention_cache(batch, max_length, memory.dtype),
            )
            for block in self.decoder_blocks
        ]

    def decode_step(self, token, step, caches, source_mask):
        """Logits for the position after `token`, attending to cached keys and values.

        Args:
            token: `(batch,)` ids of the tokens at position `step`.
            step: int scalar position.
            caches: from `start_decoding` (or the previous `decode_step`).
            source_mask: `(batch, S)`.

        Returns:
            `(logits (batch, V), updated caches, cross-attention of the last layer
            (batch, heads, S))`.
        """
        x = self._embed(self.target_embedding, ops.expand_dims(token, 1), False, offset=step)
        new_caches = []
        cross_weights = None
        for block, (cross_cache, self_cache) in zip(self.decoder_blocks, caches, strict=True):
            x, self_cache, cross_weights = block.decode_step(
                x, step, self_cache, cross_cache, source_mask
            )
            new_caches.append((cross_cache, self_cache))
        if self.norm_first:
            x = self.decoder_norm(x)
        logits = self.output_projection(x)[:, 0]
        return logits, new_caches, cross_weights[:, :, 0]

    def get_config(self):
        return {
            **super().get_config(),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "num_layers": self.num_layers,
            "model_dim": self.model_dim,
            "num_heads": self.num_heads,
            "feed_forward_dim": self.feed_forward_dim,
            "dropout": self.dropout,
            "norm_first": self.norm_first,
        }
