"""`AttentionPlotCallback`: watch the attention of fixed examples change during `fit`."""

import pathlib
import struct
from collections.abc import Mapping

import keras
import numpy as np

from attention_layers.visualization._common import (
    check_ndim,
    counted_name,
    png_bytes,
    readable_name,
    safe_name,
    to_numpy,
    to_tokens,
)
from attention_layers.visualization.functional import attention_model
from attention_layers.visualization.heatmaps import animate_attention, plot_attention, plot_heads
from attention_layers.visualization.html_view import token_importance_html, views_to_html
from attention_layers.visualization.token_importance import plot_token_importance

_SIDES = ("source", "target", None)
_SIDE_WORDS = {"source": "source words", "target": "output words", None: "positions"}


def _model_attention(model):
    """How to ask `model` for attention: its `get_attention_weights(inputs)` (our models),
    else the attention view of its graph (`attention_model`, a functional model)."""
    if hasattr(model, "get_attention_weights"):
        return lambda model, inputs: model.get_attention_weights(inputs)
    try:
        view = attention_model(model)
    except ValueError as error:
        raise TypeError(
            f"AttentionPlotCallback cannot get attention weights from {type(model).__name__} "
            f"{model.name!r}: it has no `get_attention_weights(inputs)` method, and {error} "
            "Give the callback `attention_fn=lambda model, inputs: {name: weights}`."
        ) from error
    return lambda model, inputs: view(inputs, training=False)


def _token_lists(name, value):
    """`value` as one list of strings per example, or None."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not len(value):
        raise ValueError(f"`{name}` must be a list with one list of tokens per example.")
    first = value[0]
    if isinstance(first, (str, bytes)):
        raise ValueError(
            f"`{name}` must hold one list of tokens per example, but its first item is the "
            f"string {first!r}; for a single example wrap it: `{name}=[tokens]`."
        )
    return [to_tokens(f"{name}[{index}]", tokens) for index, tokens in enumerate(value)]


def _is_pooling(weights, query_tokens, key_tokens):
    """Attention pooling: one single-head query over labelled keys, no query tokens."""
    return (
        weights.ndim == 2 and weights.shape[0] == 1 and query_tokens is None
        and key_tokens is not None
    )


def _same_attention(weights, other):
    """Whether two `{name: array}` records hold the same attention (to float32 noise)."""
    return weights.keys() == other.keys() and all(
        weights[name].shape == other[name].shape
        and np.allclose(weights[name], other[name], rtol=0.0, atol=1e-6)
        for name in weights
    )


class AttentionPlotCallback(keras.callbacks.Callback):
    """Plots the attention of fixed examples every few epochs: PNG files, TensorBoard, GIF.

    At the end of every `every_n_epochs`-th epoch the callback asks the model for the
    attention weights of the same examples (`model.get_attention_weights(inputs)`, a dict
    `{name: weights}` with `weights` of shape `(batch, T_q, T_k)` or
    `(batch, heads, T_q, T_k)`; a functional `keras.Model` without that method is read
    through `attention_model(model)`, which collects the weights of its attention layers)
    and, for each of the first `max_examples` examples and each name, writes

    - a PNG file `output_dir/epoch_{epoch:03d}/example_{i}_{name}.png`: a heatmap
      (`plot_attention`) for single-head weights, a row of heads (`plot_heads`) for
      multi-head weights, and the sentence coloured by weight (`plot_token_importance`)
      when there is a single query and no target tokens, as for an attention-pooling
      classifier; titled in words ("Decoder layer 2, cross-attention, example 1, epoch
      3", then the example's predicted and true labels when given), with axis titles and a
      0-1 colour scale;
    - `output_dir/attention.html`, replaced after every plotted epoch: the interactive,
      self-contained view (`views_to_html`) of every example and name at that epoch, each
      column under its heading ("output words (queries)", "source words (keys)"), to open
      in a browser; for attention pooling, the sentences with each word coloured by its
      weight (`token_importance_html`), with no layer or head to choose; `html(figures)`
      gives the page again with figures under it (a PNG known only after training);
    - with `log_dir`, the same image as a TensorBoard image summary, tag
      `attention/{name}/example_{i}`, step = the epoch counted from 0, the step at which
      `keras.callbacks.TensorBoard` writes the epoch scalars;

    and keeps the weights (`weights_by_epoch`). Everything a person reads counts from 1,
    as Keras prints epochs: epochs, examples and the layers in names (the model's
    `"decoder_0/cross_attention"` is "Decoder layer 1" in titles and `decoder_1` in file
    names and tags, as `example_1_decoder_1_cross_attention.png` and
    `attention/decoder_1/cross_attention/example_1`); characters other than letters,
    digits, `.`, `_` and `-` in file names become `_`.

    At the start of training it asks for the weights once, so that a model it cannot
    read, or tokens that do not fit the weights, fail at once with an error naming what
    is missing, not after the first epoch. At the end of training it writes one animation
    per example and name, `output_dir/example_{i}_{name}.gif`, with a frame per recorded
    epoch, and makes `attention.html` show the weights the model ends with: when an
    earlier callback restored another epoch's weights (`EarlyStopping(
    restore_best_weights=True)`, as the training commands do), the page shows the
    recorded epoch whose attention the final weights give, and says so in its title.

    Token labels: `source_tokens` label the keys and `target_tokens` the queries (cross-
    attention, e.g. `"decoder_0/cross_attention"`). A name containing `self` is
    self-attention: its queries and keys are both the target tokens if the name also
    contains `decoder`, else both the source tokens (`"encoder_0/self_attention"`). When
    no `target_tokens` are given, the source tokens label the queries of square weights,
    and a single query (attention pooling) gets no label. `token_axes` overrides this per
    name. Token lists may be shorter than the padded weights: the weights are cropped to
    the tokens, so padding is not drawn.

    Args:
        inputs: the fixed examples, whatever `get_attention_weights` takes (an array, a
            tuple such as `(source_ids, target_ids)`, a dict); its leading axis is the
            batch. Only the first `max_examples` are kept.
        output_dir: folder for the PNG and GIF files (created when needed).
        source_tokens: optional list, one list of source (key) token strings per example.
        target_tokens: optional list, one list of target (query) token strings per example.
        token_axes: optional dict `{name: (query_side, key_side)}`, each side `"source"`,
            `"target"` or None (no labels), for names whose tokens differ from the default.
        every_n_epochs: plot after every this many epochs.
        max_examples: plot at most this many examples.
        log_dir: optional TensorBoard log folder for the image summaries.
        attention_fn: optional `callable(model, inputs) -> {name: weights}` to use instead
            of `model.get_attention_weights(inputs)` (or, for a functional model without
            it, `attention_model(model)(inputs)`).
        true_labels: optional list of one label (a string) per example, shown in the
            titles ("true negative").
        predicted_labels: optional `callable(model, inputs) -> list of str`, one per
            example: the model's prediction when the plot is drawn, shown in the titles
            ("predicted positive (0.93)").

    Example:

    ```python
    callback = AttentionPlotCallback(
        (source_ids[:2], target_in_ids[:2]),
        output_dir="runs/demo/attention",
        source_tokens=[["el", "gato", "<end>"], ["hola", "<end>"]],
        target_tokens=[["<start>", "the", "cat"], ["<start>", "hello"]],
        log_dir="runs/demo/logs",
    )
    model.fit(dataset, epochs=10, callbacks=[callback])
    ```
    """

    def __init__(
        self,
        inputs,
        output_dir,
        *,
        source_tokens=None,
        target_tokens=None,
        token_axes=None,
        every_n_epochs=1,
        max_examples=2,
        log_dir=None,
        attention_fn=None,
        true_labels=None,
        predicted_labels=None,
    ):
        super().__init__()
        if int(every_n_epochs) < 1:
            raise ValueError(f"`every_n_epochs` must be at least 1; received {every_n_epochs}.")
        if int(max_examples) < 1:
            raise ValueError(f"`max_examples` must be at least 1; received {max_examples}.")
        if attention_fn is not None and not callable(attention_fn):
            raise ValueError("`attention_fn` must be a callable `(model, inputs) -> dict`.")
        if predicted_labels is not None and not callable(predicted_labels):
            raise ValueError(
                "`predicted_labels` must be a callable `(model, inputs) -> list of str`."
            )
        leaves = keras.tree.flatten(inputs)
        if not leaves:
            raise ValueError("`inputs` is empty; give the examples to plot.")
        batch_size = int(leaves[0].shape[0])
        self.num_examples = min(int(max_examples), batch_size)
        self.inputs = keras.tree.map_structure(lambda x: x[: self.num_examples], inputs)
        self.source_tokens = _token_lists("source_tokens", source_tokens)
        self.target_tokens = _token_lists("target_tokens", target_tokens)
        for name, lists in (
            ("source_tokens", self.source_tokens),
            ("target_tokens", self.target_tokens),
        ):
            if lists is not None and len(lists) < self.num_examples:
                raise ValueError(
                    f"`{name}` has {len(lists)} token lists but {self.num_examples} examples "
                    "are plotted; give one list per example."
                )
        if true_labels is not None:
            if isinstance(true_labels, (str, bytes)) or len(true_labels) < self.num_examples:
                raise ValueError(
                    f"`true_labels` must hold one label per example ({self.num_examples} "
                    f"are plotted); received {true_labels!r}."
                )
            true_labels = [str(label) for label in true_labels[: self.num_examples]]
        self.true_labels = true_labels
        self.predicted_labels = predicted_labels
        self.token_axes = dict(token_axes or {})
        for name, sides in self.token_axes.items():
            if len(sides) != 2 or any(side not in _SIDES for side in sides):
                raise ValueError(
                    f"`token_axes[{name!r}]` must be a pair (query_side, key_side) of "
                    f'"source", "target" or None; received {sides!r}.'
                )
        self.output_dir = pathlib.Path(output_dir)
        self.every_n_epochs = int(every_n_epochs)
        self.log_dir = log_dir
        self.attention_fn = attention_fn
        self.weights_by_epoch = {}
        self.notes_by_epoch = {}
        self._html_view = None  # (weights, notes, title) of the page last written
        self._writer = None

    def on_train_begin(self, logs=None):
        weights = self.attention()
        for name, batch in weights.items():
            for index in range(self.num_examples):
                self._example(name, index, batch[index])
        self._notes()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        self.plot_epoch(epoch + 1)

    def on_train_end(self, logs=None):
        self.write_final_html()
        self.write_animations()
        if self._writer is not None:
            self._writer.flush()

    def attention(self):
        """The current attention weights of the examples: `{name: numpy array}`."""
        if self.attention_fn is None:
            self.attention_fn = _model_attention(self.model)
        result = self.attention_fn(self.model, self.inputs)
        if not isinstance(result, Mapping):
            raise TypeError(
                "The attention function must return a dict {name: weights}; "
                f"received {type(result).__name__}."
            )
        weights = {}
        for name, value in result.items():
            label = f"attention weights {name!r}"
            array = to_numpy(label, value)
            check_ndim(label, array, (3, 4), "(batch, T_q, T_k) or (batch, heads, T_q, T_k)")
            if array.shape[0] < self.num_examples:
                raise ValueError(
                    f"{label} has shape {array.shape}: fewer than the {self.num_examples} "
                    "examples given."
                )
            weights[str(name)] = array[: self.num_examples]
        return weights

    def plot_epoch(self, epoch):
        """Plots and records the attention at `epoch` (counted from 1); returns the paths."""
        weights = self.attention()
        self.weights_by_epoch[epoch] = weights
        self.notes_by_epoch[epoch] = self._notes()
        folder = self.output_dir / f"epoch_{epoch:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        paths = [self.write_html(epoch)]
        for name, batch in weights.items():
            for index in range(self.num_examples):
                figure = self._figure(name, index, batch[index], epoch)
                png = png_bytes(figure)
                path = folder / f"example_{index + 1}_{safe_name(counted_name(name))}.png"
                path.write_bytes(png)
                paths.append(path)
                if self.log_dir is not None:
                    tag = f"attention/{counted_name(name)}/example_{index + 1}"
                    self._write_summary(tag, png, epoch - 1)
        return paths

    def write_html(self, epoch, title=None):
        """Writes `output_dir/attention.html`, the view of the attention at `epoch`
        (titled `title`, by default "Attention at epoch {epoch}"); returns its path."""
        return self._write_html(
            self.weights_by_epoch[epoch],
            self.notes_by_epoch.get(epoch),
            title or f"Attention at epoch {epoch}",
        )

    def write_final_html(self):
        """Makes `attention.html` show the weights the model ends training with.

        The page written after the last plotted epoch shows that epoch. When another
        callback has since put other weights into the model (early stopping restoring the
        best epoch's), the page is rewritten for the recorded epoch whose attention the
        model now gives, or, when no recorded epoch matches (it was not plotted), for the
        model's final weights. Returns the page's path, or None when nothing was plotted.
        """
        if not self.weights_by_epoch:
            return None
        last = max(self.weights_by_epoch)
        final = self.attention()
        matching = [
            epoch for epoch, weights in self.weights_by_epoch.items()
            if _same_attention(weights, final)
        ]
        if last in matching:
            return self.output_dir / "attention.html"
        if matching:
            epoch = max(matching)
            return self.write_html(
                epoch,
                f"Attention at epoch {epoch}, the weights the model keeps (the best epoch; "
                f"training ran to epoch {last})",
            )
        return self._write_html(
            final,
            self._notes(),
            f"Attention with the weights the model keeps (restored at the end of training, "
            f"which ran to epoch {last})",
        )

    def _write_html(self, weights, notes, title):
        self._html_view = (weights, notes, title)
        path = self.output_dir / "attention.html"
        self.html(path=path)
        return path

    def html(self, figures=(), path=None):
        """The page that `attention.html` last got (None before the first), with `figures`,
        `(caption, PNG bytes)` pairs, under it (e.g. a classifier's confusion matrix, known
        after training), written to `path` (all or nothing) when given."""
        if self._html_view is None:
            return None
        weights, notes, title = self._html_view
        views, sentences = [], []
        for index in range(self.num_examples):
            for name, batch in weights.items():
                example_weights, query_tokens, key_tokens, labels = self._example(
                    name, index, batch[index]
                )
                num_queries, num_keys = example_weights.shape[-2:]
                heading = f"Example {index + 1}: {readable_name(name)}"
                if _is_pooling(example_weights, query_tokens, key_tokens):
                    note = notes[index] if notes else ""
                    sentences.append(
                        (heading + (f"; {note}" if note else ""), key_tokens, example_weights)
                    )
                views.append(
                    (
                        heading,
                        example_weights,
                        key_tokens or [f"key {k + 1}" for k in range(num_keys)],
                        query_tokens or [f"query {q + 1}" for q in range(num_queries)],
                        labels["source_label"],
                        labels["target_label"],
                    )
                )
        if len(sentences) == len(views):
            # Attention pooling: one query, nothing to choose between; the sentences.
            return token_importance_html(sentences, title=title, path=path, figures=figures)
        return views_to_html(views, title=title, path=path, figures=figures)

    def write_animations(self):
        """Writes one GIF per example and name, a frame per recorded epoch; returns paths."""
        if not self.weights_by_epoch:
            return []
        epochs = sorted(self.weights_by_epoch)
        paths = []
        for name in self.weights_by_epoch[epochs[-1]]:
            recorded = [epoch for epoch in epochs if name in self.weights_by_epoch[epoch]]
            for index in range(self.num_examples):
                views = [
                    self._example(name, index, self.weights_by_epoch[epoch][name][index])
                    for epoch in recorded
                ]
                _, query_tokens, key_tokens, labels = views[0]
                file_name = f"example_{index + 1}_{safe_name(counted_name(name))}.gif"
                paths.append(
                    animate_attention(
                        [weights for weights, _, _, _ in views],
                        self.output_dir / file_name,
                        source_tokens=key_tokens,
                        target_tokens=query_tokens,
                        titles=[self._title(name, index, epoch) for epoch in recorded],
                        **labels,
                    )
                )
        return paths

    def _notes(self):
        """One line per example: its predicted and true labels, when given, else ""."""
        predicted = [None] * self.num_examples
        if self.predicted_labels is not None:
            predicted = list(self.predicted_labels(self.model, self.inputs))
            if len(predicted) < self.num_examples:
                raise ValueError(
                    f"`predicted_labels` returned {len(predicted)} labels for "
                    f"{self.num_examples} examples; return one per example."
                )
        true = self.true_labels or [None] * self.num_examples
        return [
            ", ".join(
                f"{what} {label}"
                for what, label in (("predicted", predicted[index]), ("true", true[index]))
                if label is not None
            )
            for index in range(self.num_examples)
        ]

    def _tokens(self, side, index):
        lists = {"source": self.source_tokens, "target": self.target_tokens}.get(side)
        return None if lists is None else lists[index]

    def _example(self, name, index, weights):
        """Example `index`'s weights cropped to its tokens, its (query, key) tokens, and
        the axis titles for them (`source_label`, `target_label` keyword arguments)."""
        num_queries, num_keys = weights.shape[-2:]
        lowered = name.lower()
        if name in self.token_axes:
            query_side, key_side = self.token_axes[name]
        elif "self" in lowered:
            query_side = key_side = "target" if "decoder" in lowered else "source"
        elif self.target_tokens is not None:
            query_side, key_side = "target", "source"
        else:
            query_side, key_side = ("source" if num_queries == num_keys else None), "source"
        query_tokens = self._tokens(query_side, index)
        key_tokens = self._tokens(key_side, index)
        for tokens, side, size, what in (
            (query_tokens, query_side, num_queries, "queries (T_q)"),
            (key_tokens, key_side, num_keys, "keys (T_k)"),
        ):
            if tokens is not None and len(tokens) > size:
                raise ValueError(
                    f"`{side}_tokens[{index}]` has {len(tokens)} tokens but attention {name!r} "
                    f"has {size} {what} (weights shape {weights.shape}); check the tokens "
                    "or `token_axes`."
                )
        # Padding positions beyond the tokens are not drawn.
        if query_tokens is not None:
            weights = weights[..., : len(query_tokens), :]
        if key_tokens is not None:
            weights = weights[..., : len(key_tokens)]
        labels = {
            "source_label": f"{_SIDE_WORDS[key_side]} (keys)",
            "target_label": f"{_SIDE_WORDS[query_side]} (queries)",
        }
        return weights, query_tokens, key_tokens, labels

    def _title(self, name, index, epoch):
        title = f"{readable_name(name)}, example {index + 1}, epoch {epoch}"
        notes = self.notes_by_epoch.get(epoch)
        return f"{title}; {notes[index]}" if notes and notes[index] else title

    def _figure(self, name, index, weights, epoch):
        weights, query_tokens, key_tokens, labels = self._example(name, index, weights)
        title = self._title(name, index, epoch)
        if weights.ndim == 3:
            return plot_heads(weights, key_tokens, query_tokens, title=title, **labels)
        if _is_pooling(weights, query_tokens, key_tokens):
            return plot_token_importance(key_tokens, weights[0], title=title)
        return plot_attention(weights, key_tokens, query_tokens, title=title, **labels)

    def _write_summary(self, tag, png, epoch):
        """An image summary of `png`, in TensorBoard's format, without needing TensorBoard.

        `tf.summary.image` needs the `tensorboard` package installed to write; the data it
        writes is this: a string tensor `[width, height, png]` tagged for the images plugin.
        """
        import tensorflow as tf  # Only TensorBoard logs need TensorFlow, whatever the backend.
        from tensorflow.core.framework import summary_pb2

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        width, height = struct.unpack(">II", png[16:24])  # the PNG header (IHDR)
        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images"),
            data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
        )
        with self._writer.as_default():
            tf.summary.write(
                tag,
                tf.constant([str(width).encode(), str(height).encode(), png]),
                step=epoch,
                metadata=metadata,
            )
