"""The Transformer translator (Vaswani et al. 2017), built from our blocks."""

import keras
from keras import ops

from attention_layers.decoding.interface import outputs_at
from attention_layers.layers import TransformerDecoderBlock
from attention_layers.models.encoder_stack import STACK_CONFIG, TransformerEncoderStack, final_norm
from attention_layers.utils.checks import check_positive_ints, check_table_sizes
from attention_layers.utils.configs import attribute_config
from attention_layers.utils.token_ids import padding_mask


@keras.saving.register_keras_serializable(package="attention_layers")
class TransformerTranslator(TransformerEncoderStack, keras.Model):
    """An encoder-decoder Transformer for translation, trained with teacher forcing.

    Vaswani et al. 2017, §3 and Figure 1: token embeddings scaled by `sqrt(d_model)` (§3.4)
    plus sinusoidal positions (§3.5), `num_layers` encoder blocks over the source,
    `num_layers` decoder blocks (causal self-attention, cross-attention to the encoder
    output, feed-forward) over the shifted target, and a linear layer to target-word logits.

    1. `memory = encoder(embed(source))`: `(batch, S, d_model)`;
    2. `states = decoder(embed(target_in), memory)`: `(batch, T, d_model)`;
    3. `logits = states W`: `(batch, T, target_vocab_size)`.

    `get_attention_weights` returns every decoder layer's cross-attention per head. For
    greedy and beam search (`attention_layers.decoding`) it implements the decoding
    interface of the translators: `start_decoding`, `decode_step` (one position with
    cached keys and values), `decode_prefix` and `max_source_length`.

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
        shared_embeddings: one embedding matrix for the source, the target and the output
            layer (three-way tying); needs `source_vocab_size == target_vocab_size`, one
            vocabulary for both languages.

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
        shared_embeddings=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_ints(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size)
        self._set_stack_config(
            num_layers, model_dim, num_heads, feed_forward_dim, dropout, norm_first
        )
        check_table_sizes({
            "source_vocab_size x model_dim": (source_vocab_size, model_dim),
            "target_vocab_size x model_dim": (target_vocab_size, model_dim),
        })
        if shared_embeddings and source_vocab_size != target_vocab_size:
            raise ValueError(
                "`shared_embeddings=True` needs one vocabulary for both languages: "
                f"`source_vocab_size` ({source_vocab_size}) must equal `target_vocab_size` "
                f"({target_vocab_size})."
            )
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.shared_embeddings = bool(shared_embeddings)

        if self.shared_embeddings:
            self.shared_embedding = keras.layers.ReversibleEmbedding(
                target_vocab_size, model_dim, name="shared_embedding"
            )
        else:
            self.source_embedding = keras.layers.Embedding(
                source_vocab_size, model_dim, name="source_embedding"
            )
            self.target_embedding = keras.layers.Embedding(
                target_vocab_size, model_dim, name="target_embedding"
            )
        self._init_encoder_stack(num_layers)
        self.decoder_blocks = [
            TransformerDecoderBlock(**self._block_args(), name=f"decoder_{index}")
            for index in range(num_layers)
        ]
        self.encoder_norm = final_norm("encoder_norm")
        self.decoder_norm = final_norm("decoder_norm")
        if not self.shared_embeddings:
            self.output_projection = keras.layers.Dense(target_vocab_size, name="logits")

    def _embed_source(self, ids):
        return (self.shared_embedding if self.shared_embeddings else self.source_embedding)(ids)

    def _embed_target(self, ids):
        return (self.shared_embedding if self.shared_embeddings else self.target_embedding)(ids)

    def _logits(self, states):
        """`(..., d_model)` -> `(..., target_vocab_size)`: `W` or, tied, `E^T`."""
        if self.shared_embeddings:
            return self.shared_embedding(states, reverse=True)
        return self.output_projection(states)

    def build(self, input_shape=None):
        # Built explicitly (not by tracing `call`), so that `encode`, `decode_step` and
        # `get_attention_weights` work on a fresh model and a loaded file gets its weights.
        sequence = (None, None, self.model_dim)
        if self.shared_embeddings:
            self.shared_embedding.build((None, None))
        else:
            self.source_embedding.build((None, None))
            self.target_embedding.build((None, None))
            self.output_projection.build(sequence)
        for block in self.encoder_blocks:
            block.build(sequence)
        for block in self.decoder_blocks:
            block.build(sequence, sequence)
        self.encoder_norm.build(sequence)
        self.decoder_norm.build(sequence)

    def encode(self, source, training=None):
        """Source ids `(batch, S)` -> `(memory (batch, S, d_model), source_mask (batch, S))`."""
        if not self.built:
            self.build()
        source_mask = padding_mask(source)
        memory, _ = self._encode_embedded(self._embed_source(source), source_mask, training)
        return memory, source_mask

    def decode(self, target_in, memory, source_mask, training=None, return_attention=False):
        """Teacher-forced decoding: logits `(batch, T, V)` (and per-layer cross-attention)."""
        target_mask = padding_mask(target_in)
        x = self._add_positions(self._embed_target(target_in), training)
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
        logits = self._logits(x)
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

    # --- the decoding interface (`attention_layers.decoding`) ---------------------------

    @property
    def max_source_length(self):
        """`None`: sinusoidal positions and attention take a source of any length."""
        return None

    def start_decoding(self, source_ids, max_length):
        """Encodes the source and sets up the caches for cached decoding.

        Args:
            source_ids: int `(batch, S)`, padded with 0.
            max_length: the most positions `decode_step` will be called for (the size of
                the self-attention caches).

        Returns:
            `(context, state)`: the context, fixed while decoding, is `(memory (batch, S,
            d_model), per layer the cross-attention `(key, value)` of `memory`,
            source_mask (batch, S))`; the state is per layer the self-attention
            `(key, value)` caches `(batch, heads, max_length, depth)`, zeros to start.
        """
        memory, source_mask = self.encode(source_ids, training=False)
        batch = ops.shape(memory)[0]
        cross_caches = [block.cross_attention_cache(memory) for block in self.decoder_blocks]
        self_caches = [
            block.empty_self_attention_cache(batch, max_length, memory.dtype)
            for block in self.decoder_blocks
        ]
        return (memory, cross_caches, source_mask), self_caches

    def decode_step(self, token_ids, position, context, state):
        """The next token's logits after `token_ids`, attending to cached keys and values.

        Only the new position is computed (`O(T)` attention per step). Arguments and result
        as `attention_layers.decoding.Translator.decode_step`; `position` indexes the
        caches, and the weights are the last layer's with the heads averaged.
        """
        _, cross_caches, source_mask = context
        x = self._add_positions(
            self._embed_target(ops.expand_dims(token_ids, 1)), False, offset=position
        )  # (batch, 1, d_model)
        new_state = []
        for block, cross_cache, self_cache in zip(
            self.decoder_blocks, cross_caches, state, strict=True
        ):
            x, self_cache, cross_weights = block.decode_step(
                x, position, self_cache, cross_cache, source_mask
            )  # (batch, 1, d_model), caches, (batch, heads, 1, S)
            new_state.append(self_cache)
        if self.norm_first:
            x = self.decoder_norm(x)
        logits = self._logits(x)[:, 0]
        return logits, new_state, ops.mean(cross_weights[:, :, 0], axis=1)

    def decode_prefix(self, prefix_ids, context, position=None):
        """The reference for `decode_step`: the whole prefix through the decoder again.

        Arguments and result as `attention_layers.decoding.Translator.decode_prefix`; the
        decoder is causal, so the ids after `position` change nothing, and the weights are
        the last layer's with the heads averaged.
        """
        memory, _, source_mask = context
        logits, attention = self.decode(
            prefix_ids, memory, source_mask, training=False, return_attention=True
        )  # (batch, t, V)
        last_layer = attention[f"decoder_{self.num_layers - 1}/cross_attention"]
        weights = ops.mean(last_layer, axis=1)  # (batch, t, S)
        return outputs_at(logits, weights, position)

    def get_config(self):
        return {**super().get_config(), **attribute_config(
            self, "source_vocab_size", "target_vocab_size", *STACK_CONFIG, "shared_embeddings"
        )}
