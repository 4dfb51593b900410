"""Post-training int8 embedding tables that survive a `.keras` round trip.

Keras quantizes a built model's layers in place (`Model.quantize`): an `Embedding`'s float32
table becomes an int8 table and one float32 scale per row (absmax quantization, row by row:
`q = round(127 * w / max|w_row|)`, read back as `q * max|w_row| / 127`; Dettmers et al.
2022, "LLM.int8()", §2.1), a quarter of the bytes.
A functional model saves each layer's new dtype policy and loads again. A subclassed model
creates its layers in `__init__`, so after loading they are float32 again and the int8
weights in the file do not fit them. `EmbeddingQuantization` records the mode in the model's
config and quantizes the same tables again when the model is built, before the weights are
loaded.

Only the embedding tables are quantized: in the classifiers they hold almost every weight
(a BiGRU of the SST-2 preset: 10.10M of its 10.29M), and a table lookup reads rows without
multiplying them, so weight-only int8 adds no activation rounding.
"""

import keras

EMBEDDING_QUANTIZATIONS = ("int8",)


def check_embedding_quantization(value):
    if value is not None and value not in EMBEDDING_QUANTIZATIONS:
        raise ValueError(
            "`embedding_quantization` must be None or one of "
            f"{', '.join(map(repr, EMBEDDING_QUANTIZATIONS))}; received {value!r}."
        )


def _is_embedding(layer):
    return type(layer) is keras.layers.Embedding


class EmbeddingQuantization:
    """Mixin for subclassed `keras.Model`s: `quantize_embeddings("int8")`, kept on save.

    The model calls `_init_embedding_quantization(embedding_quantization)` in `__init__`,
    `_restore_embedding_quantization()` at the end of `build` (after every weight exists),
    and keeps `embedding_quantization` in its `get_config`.
    """

    def _init_embedding_quantization(self, embedding_quantization):
        check_embedding_quantization(embedding_quantization)
        self.embedding_quantization = embedding_quantization

    def _restore_embedding_quantization(self):
        # On load the config asks for the mode; the table's values come from the file next.
        if self.embedding_quantization and not self._has_quantized_embeddings():
            self._quantize_tables(self.embedding_quantization)

    def _quantize_tables(self, mode):
        # Layer by layer, as `Model.quantize` does: it also runs inside `build`, before
        # Keras marks the model built (which `Model.quantize` requires).
        for layer in self._flatten_layers():
            if _is_embedding(layer):
                layer.quantize(mode)
        self.train_function = self.test_function = self.predict_function = None
        self._post_quantize(mode)  # the torch backend re-tracks the new variables

    def _has_quantized_embeddings(self):
        return any(
            layer.quantization_mode is not None
            for layer in self._flatten_layers() if _is_embedding(layer)
        )

    def quantize_embeddings(self, mode="int8"):
        """Replaces every embedding table by its `mode` quantization, in place.

        The model must be built. The `.keras` file then stores the quantized tables, and
        `keras.saving.load_model` rebuilds them (`embedding_quantization` in the config).

        Args:
            mode: `"int8"`: one int8 value per weight and a float32 scale per row.

        Returns:
            The model, for chaining.

        Example:

        >>> import numpy as np
        >>> from attention_layers.models import BiGRUClassifier
        >>> model = BiGRUClassifier(100, embedding_dim=8, units=8, attention_units=8)
        >>> _ = model(np.array([[5, 6, 7]]))
        >>> model.quantize_embeddings("int8").embedding_quantization
        'int8'
        >>> str(model.embedding.embeddings.dtype)
        'int8'
        """
        check_embedding_quantization(mode)
        if mode is None:
            raise ValueError("`mode` must be one of "
                             f"{', '.join(map(repr, EMBEDDING_QUANTIZATIONS))}; received None.")
        if not self.built:
            raise ValueError("Build the model (call it once) before `quantize_embeddings`.")
        if self._has_quantized_embeddings():
            raise ValueError(
                f"The embeddings are already quantized ({self.embedding_quantization})."
            )
        self._quantize_tables(mode)
        self.embedding_quantization = mode
        return self
