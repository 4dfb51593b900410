"""`AttentionPlotCallback` during `fit`, with a tiny translator and a tiny classifier."""

import base64
import html
import io
import json
import re

import keras
import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from attention_layers.visualization import (
    AttentionPlotCallback,
    plot_heads,
    plot_token_importance,
)
from tests.visualization import pixels

VOCABULARY = 12


class TinyTranslator(keras.Model):
    """Self-attention over the source, cross-attention from the target (2 heads each)."""

    def __init__(self):
        super().__init__()
        self.source_embedding = keras.layers.Embedding(VOCABULARY, 8)
        self.target_embedding = keras.layers.Embedding(VOCABULARY, 8)
        self.encoder_attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        self.cross_attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        self.logits = keras.layers.Dense(VOCABULARY)

    def call(self, inputs, return_attention=False):
        source, target = inputs
        source = self.source_embedding(source)
        encoded, encoder_weights = self.encoder_attention(
            source, source, return_attention_scores=True
        )
        decoded, cross_weights = self.cross_attention(
            self.target_embedding(target), encoded, return_attention_scores=True
        )
        logits = self.logits(decoded)
        if return_attention:
            # (batch, heads, T_q, T_k) each.
            return logits, {"encoder/self_attention": encoder_weights, "cross": cross_weights}
        return logits

    def get_attention_weights(self, inputs):
        return self(inputs, return_attention=True)[1]


class TinyClassifier(keras.Model):
    """Attention pooling: one learned query over the tokens, `(batch, 1, T)` weights."""

    def __init__(self):
        super().__init__()
        self.embedding = keras.layers.Embedding(VOCABULARY, 8)
        self.score = keras.layers.Dense(1)
        self.output_layer = keras.layers.Dense(1, activation="sigmoid")

    def call(self, tokens, return_attention=False):
        embedded = self.embedding(tokens)  # (batch, T, 8)
        scores = keras.ops.transpose(self.score(embedded), (0, 2, 1))  # (batch, 1, T)
        weights = keras.ops.softmax(scores, axis=-1)
        pooled = keras.ops.squeeze(keras.ops.matmul(weights, embedded), axis=1)
        probabilities = self.output_layer(pooled)
        return (probabilities, {"pooling": weights}) if return_attention else probabilities

    def get_attention_weights(self, inputs):
        return self(inputs, return_attention=True)[1]


def _translation_data():
    rng = np.random.default_rng(0)
    source = rng.integers(1, VOCABULARY, size=(16, 6))
    target = rng.integers(1, VOCABULARY, size=(16, 5))
    return (source, target), target


SOURCE_TOKENS = [["el", "gato", "come", "pescado", "hoy", "<end>"], ["hola", "<end>"]]
TARGET_TOKENS = [["<start>", "the", "cat", "eats", "fish"], ["<start>", "hello"]]


def _png_pixels(data):
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
        return np.asarray(image.convert("RGB"))


def _figure_pixels(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return _png_pixels(buffer.getvalue())


def _figure_html(caption, png):
    """The `<figure>` that the view shows a PNG in (`figures=`): the image inline."""
    encoded = base64.b64encode(png).decode("ascii")
    return (f'<figure class="attention-figure"><img alt="{caption}" '
            f'src="data:image/png;base64,{encoded}">\n<figcaption>{caption}</figcaption></figure>')


def _html_data(path):
    page = path.read_text(encoding="utf-8")
    start = page.index('class="attention-data">') + len('class="attention-data">')
    return json.loads(page[start : page.index("</script>", start)])


def _image_summaries(log_dir):
    import tensorflow as tf

    summaries = {}
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                width, height, png = tf.make_ndarray(value.tensor)[:3]
                summaries[(value.tag, event.step)] = (int(width), int(height), png)
    return summaries


@pytest.mark.slow
def test_translator_plots_every_epoch_writes_tensorboard_and_animates(tmp_path):
    model = TinyTranslator()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(True))
    inputs, labels = _translation_data()
    callback = AttentionPlotCallback(
        inputs,
        tmp_path / "attention",
        source_tokens=SOURCE_TOKENS,
        target_tokens=TARGET_TOKENS,
        max_examples=2,
        log_dir=tmp_path / "logs",
    )
    model.fit(inputs, labels, epochs=3, batch_size=8, verbose=0, callbacks=[callback])

    names = ["cross", "encoder_self_attention"]
    expected = (
        {
            f"epoch_{epoch:03d}/example_{number}_{name}.png"
            for epoch in (1, 2, 3)
            for number in (1, 2)  # examples counted from 1, as in the titles
            for name in names
        }
        | {f"example_{number}_{name}.gif" for number in (1, 2) for name in names}
        | {"attention.html"}
    )
    written = {
        path.relative_to(tmp_path / "attention").as_posix()
        for path in (tmp_path / "attention").rglob("*")
        if path.is_file()
    }
    assert written == expected

    # The last epoch's weights are the trained model's; only the plotted examples are kept.
    assert sorted(callback.weights_by_epoch) == [1, 2, 3]
    final = model.get_attention_weights((inputs[0][:2], inputs[1][:2]))
    for name in ("cross", "encoder/self_attention"):
        kept = callback.weights_by_epoch[3][name]
        assert kept.shape[0] == 2
        np.testing.assert_allclose(kept, keras.ops.convert_to_numpy(final[name]), atol=1e-5)

    # The HTML view holds the last epoch: every example and name, each with its tokens.
    view = _html_data(tmp_path / "attention/attention.html")
    assert view["title"] == "Attention at epoch 3"
    assert [layer["name"] for layer in view["layers"]] == [
        "Example 1: Encoder, self-attention",
        "Example 1: Cross",
        "Example 2: Encoder, self-attention",
        "Example 2: Cross",
    ]
    example_2_cross = view["layers"][3]
    assert example_2_cross["source"] == SOURCE_TOKENS[1]
    assert example_2_cross["target"] == TARGET_TOKENS[1]
    np.testing.assert_allclose(
        example_2_cross["weights"], callback.weights_by_epoch[3]["cross"][1][:, :2, :2], atol=1e-4
    )
    assert view["layers"][2]["target"] == view["layers"][2]["source"] == SOURCE_TOKENS[1]

    # Each PNG is the head grid of that example, cropped to its tokens (padding not drawn):
    # its cells' colours, read from the file's pixels, are the kept weights of epoch 2.
    # The cells' places come from a grid of the same shape (its colours are not used).
    cross = callback.weights_by_epoch[2]["cross"][1]  # (heads, 5, 6), example 2 has 2 x 2
    written_png = _png_pixels(tmp_path / "attention/epoch_002/example_2_cross.png")
    grid = plot_heads(np.zeros((2, 2, 2)), SOURCE_TOKENS[1], TARGET_TOKENS[1],
                      title="Cross, example 2, epoch 2")
    renderer = pixels.layout(grid)
    drawn = written_png / 255.0
    assert drawn.shape[:2] == (int(grid.bbox.height), int(grid.bbox.width))
    for head, panel in enumerate(grid.axes[:-1]):
        read = pixels.cell_values(drawn, panel.get_window_extent(renderer), (2, 2))
        # 0.01: 1024 colours over the scale, and 8-bit rounding of each.
        np.testing.assert_allclose(read, cross[head, :2, :2], atol=0.01)

    # TensorBoard holds the same images, one per epoch, example and name, at the steps of
    # keras.callbacks.TensorBoard's epoch scalars (the epoch counted from 0).
    summaries = _image_summaries(tmp_path / "logs")
    assert set(summaries) == {
        (f"attention/{name}/example_{number}", epoch - 1)
        for epoch in (1, 2, 3)
        for number in (1, 2)
        for name in ("cross", "encoder/self_attention")
    }
    width, height, png = summaries[("attention/cross/example_2", 2 - 1)]
    np.testing.assert_array_equal(_png_pixels(png), written_png)
    assert (width, height) == (written_png.shape[1], written_png.shape[0])

    # The animation has one frame per recorded epoch.
    with Image.open(tmp_path / "attention/example_1_cross.gif") as gif:
        assert gif.n_frames == 3


@pytest.mark.slow
def test_classifier_every_other_epoch_with_token_importance(tmp_path):
    model = TinyClassifier()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, VOCABULARY, size=(8, 7))
    labels = rng.integers(0, 2, size=(8, 1)).astype("float32")
    words = [["a", "truly", "wonderful", "film", ",", "well", "done"]]
    callback = AttentionPlotCallback(
        tokens, tmp_path, source_tokens=words, every_n_epochs=2, max_examples=1
    )
    model.fit(tokens, labels, epochs=5, verbose=0, callbacks=[callback])

    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "attention.html",
        "epoch_002",
        "epoch_004",
        "example_1_pooling.gif",
    ]
    assert [path.name for path in (tmp_path / "epoch_004").iterdir()] == ["example_1_pooling.png"]
    # A single query and no target tokens: the sentence coloured by weight. Each token's
    # background in the file's pixels is Reds at the kept weight over the largest,
    # coloured here; the boxes' places come from a view of the same words.
    weights = callback.weights_by_epoch[4]["pooling"][0, 0]  # (T,)
    layout = plot_token_importance(
        words[0], np.ones(len(words[0])), title="Attention pooling, example 1, epoch 4"
    )
    renderer = pixels.layout(layout)
    drawn = pixels.picture(tmp_path / "epoch_004/example_1_pooling.png")
    assert drawn.shape[:2] == (int(layout.bbox.height), int(layout.bbox.width))
    for text, weight in zip(layout.axes[0].texts, weights, strict=True):
        box = text.get_bbox_patch().get_window_extent(renderer)
        expected = colormaps["Reds"](weight / weights.max())[:3]
        # 2/255: 8-bit rounding of the PNG and of the colour map's table.
        np.testing.assert_allclose(pixels.box_colour(drawn, box), expected, atol=2 / 255)
    with Image.open(tmp_path / "example_1_pooling.gif") as gif:
        assert gif.n_frames == 2


class FixedTransformer(keras.Model):
    """The three kinds of attention of a Transformer translator, as fixed random weights."""

    def get_attention_weights(self, inputs):
        source, target = inputs
        batch, source_length, target_length = len(source), source.shape[1], target.shape[1]
        rng = np.random.default_rng(0)
        return {
            "encoder_0/self_attention": rng.dirichlet(
                np.ones(source_length), size=(batch, 2, source_length)
            ),
            "decoder_0/self_attention": rng.dirichlet(
                np.ones(target_length), size=(batch, 2, target_length)
            ),
            "decoder_0/cross_attention": rng.dirichlet(
                np.ones(source_length), size=(batch, 2, target_length)
            ),
        }


def test_tokens_follow_the_names_of_self_and_cross_attention(tmp_path):
    inputs, _ = _translation_data()
    model = FixedTransformer()
    callback = AttentionPlotCallback(
        inputs, tmp_path, source_tokens=SOURCE_TOKENS, target_tokens=TARGET_TOKENS,
        log_dir=tmp_path / "logs",
    )
    callback.set_model(model)
    callback.on_epoch_end(0)
    callback.on_train_end()
    weights = model.get_attention_weights((inputs[0][:2], inputs[1][:2]))
    # File names and TensorBoard tags count layers and examples from 1, as the titles do.
    assert sorted(path.name for path in (tmp_path / "epoch_001").iterdir()) == [
        f"example_{number}_{layer}.png"
        for number in (1, 2)
        for layer in (
            "decoder_1_cross_attention", "decoder_1_self_attention", "encoder_1_self_attention"
        )
    ]
    assert {tag for tag, _ in _image_summaries(tmp_path / "logs")} == {
        f"attention/{layer}/example_{number}"
        for number in (1, 2)
        for layer in (
            "encoder_1/self_attention", "decoder_1/self_attention", "decoder_1/cross_attention"
        )
    }
    # The HTML view heads each column with its words: the decoder's self-attention has
    # output words on both sides.
    view = _html_data(tmp_path / "attention.html")
    assert [
        (layer["name"], layer["target_label"], layer["source_label"]) for layer in view["layers"]
    ][:3] == [
        ("Example 1: Encoder layer 1, self-attention", "source words (queries)",
         "source words (keys)"),
        ("Example 1: Decoder layer 1, self-attention", "output words (queries)",
         "output words (keys)"),
        ("Example 1: Decoder layer 1, cross-attention", "output words (queries)",
         "source words (keys)"),
    ]  # fmt: skip
    source, target = SOURCE_TOKENS[1], TARGET_TOKENS[1]  # 2 and 2 tokens, padded to 6 and 5
    for name, title, queries, keys, axes in (
        ("encoder_0/self_attention", "Encoder layer 1, self-attention", source, source, "ss"),
        ("decoder_0/self_attention", "Decoder layer 1, self-attention", target, target, "oo"),
        ("decoder_0/cross_attention", "Decoder layer 1, cross-attention", target, source, "so"),
    ):
        words = {"s": "source words", "o": "output words"}
        kept = weights[name][1][:, : len(queries), : len(keys)]  # (heads, T_q, T_k)
        # The places of the cells, from a grid of the same shape and titles.
        grid = plot_heads(
            np.zeros_like(kept),
            keys,
            queries,
            title=f"{title}, example 2, epoch 1",
            source_label=f"{words[axes[0]]} (keys)",
            target_label=f"{words[axes[1]]} (queries)",
        )
        renderer = pixels.layout(grid)
        # Examples and layers counted from 1: decoder_0 is "Decoder layer 1", decoder_1.
        file = tmp_path / f"epoch_001/example_2_{name.replace('_0/', '_1_')}.png"
        drawn = pixels.picture(file)
        assert drawn.shape[:2] == (int(grid.bbox.height), int(grid.bbox.width))
        for head, panel in enumerate(grid.axes[:-1]):
            read = pixels.cell_values(drawn, panel.get_window_extent(renderer), kept.shape[1:])
            np.testing.assert_allclose(read, kept[head], atol=0.01)  # as in the test above


def _visible_text(path):
    """The words of a page as a reader sees them: no tags, no script or style."""
    page = path.read_text(encoding="utf-8")
    body = re.sub(r"<(script|style|title)\b.*?</\1>", "", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _binary_labels(model, inputs):
    probabilities = keras.ops.convert_to_numpy(model(inputs))[:, 0]
    return [f"{'positive' if p >= 0.5 else 'negative'} ({p:.2f})" for p in probabilities]


def test_classifier_plots_and_view_show_predicted_and_true_labels(tmp_path):
    model = TinyClassifier()
    tokens = np.random.default_rng(2).integers(1, VOCABULARY, size=(2, 4))
    words = [["not", "a", "dull", "film"], ["so", "dull", "!", "."]]
    callback = AttentionPlotCallback(
        tokens, tmp_path, source_tokens=words, true_labels=["positive", "negative"],
        predicted_labels=_binary_labels,
    )
    callback.set_model(model)
    callback.on_epoch_end(0)
    # The prediction and the weights, from the model itself.
    probabilities = keras.ops.convert_to_numpy(model(tokens))[:, 0]
    weights = keras.ops.convert_to_numpy(model.get_attention_weights(tokens)["pooling"])
    predicted = ["positive" if p >= 0.5 else "negative" for p in probabilities]
    notes = [
        f"predicted {predicted[0]} ({probabilities[0]:.2f}), true positive",
        f"predicted {predicted[1]} ({probabilities[1]:.2f}), true negative",
    ]
    expected = plot_token_importance(
        words[1], weights[1, 0], title=f"Attention pooling, example 2, epoch 1; {notes[1]}"
    )
    np.testing.assert_array_equal(
        _png_pixels(tmp_path / "epoch_001/example_2_pooling.png"), _figure_pixels(expected)
    )
    # The view: each sentence under its labels, no layer or head to choose.
    page = (tmp_path / "attention.html").read_text(encoding="utf-8")
    assert "<select" not in page
    text = _visible_text(tmp_path / "attention.html")
    assert f"Example 1: Attention pooling; {notes[0]} not a dull film" in text
    assert f"Example 2: Attention pooling; {notes[1]} so dull ! ." in text
    shown = [float(w) for w in re.findall(r'class="token" data-weight="([^"]+)"', page)]
    np.testing.assert_allclose(shown, weights[:, 0].ravel(), atol=5e-5)
    # The same page again, with a figure known after training (a confusion matrix) under it.
    assert callback.html() == page and "<img" not in page
    matrix = (tmp_path / "epoch_001/example_2_pooling.png").read_bytes()
    with_matrix = callback.html([("Confusion matrix", matrix)], path=tmp_path / "again.html")
    assert (tmp_path / "again.html").read_text(encoding="utf-8") == with_matrix
    assert with_matrix.replace(_figure_html("Confusion matrix", matrix), "") == page
    with pytest.raises(ValueError, match="`true_labels` must hold one label per example"):
        AttentionPlotCallback(tokens, tmp_path, true_labels=["positive"])


class FakeValidationLoss(keras.callbacks.Callback):
    """Puts a chosen validation loss per epoch into the logs that later callbacks read."""

    def __init__(self, losses):
        super().__init__()
        self.losses = losses

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.losses[epoch]


@pytest.mark.slow
@pytest.mark.parametrize("every_n_epochs", [1, 2])
def test_view_shows_the_epoch_whose_weights_the_model_keeps(tmp_path, every_n_epochs):
    """Early stopping restores epoch 3 of 4 (the best): the view is epoch 3's, or, when
    epoch 3 was not plotted, that of the weights the model keeps."""
    model = TinyClassifier()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, VOCABULARY, size=(16, 5))
    labels = (tokens[:, :1] > VOCABULARY // 2).astype("float32")
    words = [["a", "b", "c", "d", "e"]]
    callback = AttentionPlotCallback(
        tokens, tmp_path, source_tokens=words, max_examples=1, every_n_epochs=every_n_epochs
    )
    stopping = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
    model.fit(tokens, labels, epochs=4, batch_size=4, verbose=0,
              callbacks=[FakeValidationLoss([3.0, 2.0, 1.0, 2.5]), stopping, callback])
    kept = keras.ops.convert_to_numpy(model.get_attention_weights(tokens[:1])["pooling"])
    assert stopping.best_epoch == 2  # Keras counts from 0: our epoch 3
    view = _html_data(tmp_path / "attention.html")
    if every_n_epochs == 1:
        assert view["title"].startswith("Attention at epoch 3, the weights the model keeps")
        np.testing.assert_allclose(callback.weights_by_epoch[3]["pooling"], kept, atol=1e-6)
        assert not np.allclose(callback.weights_by_epoch[4]["pooling"], kept, atol=1e-3)
    else:
        assert view["title"].startswith("Attention with the weights the model keeps")
    assert "ran to epoch 4" in view["title"]
    np.testing.assert_allclose(view["sentences"][0]["weights"], kept[0, 0], atol=5e-5)


def test_attention_fn_overrides_the_model_contract(tmp_path):
    model = TinyTranslator()
    inputs, _ = _translation_data()

    def mean_of_heads(model, inputs):  # as an RNN translator would give: (batch, T_q, T_k)
        weights = model.get_attention_weights(inputs)["cross"]
        return {"cross": keras.ops.mean(weights, axis=1)}

    callback = AttentionPlotCallback(
        inputs,
        tmp_path,
        max_examples=1,
        target_tokens=[TARGET_TOKENS[0]],
        attention_fn=mean_of_heads,
    )
    callback.set_model(model)
    callback.on_epoch_end(0)
    callback.on_train_end()
    assert callback.weights_by_epoch[1]["cross"].shape == (1, 5, 6)
    assert (tmp_path / "epoch_001/example_1_cross.png").is_file()
    with Image.open(tmp_path / "example_1_cross.gif") as gif:
        assert gif.n_frames == 1


def test_callback_errors_name_what_is_wrong(tmp_path):
    inputs, _ = _translation_data()
    with pytest.raises(
        ValueError, match="one list of tokens per example.*`source_tokens=\\[tokens\\]`"
    ):
        AttentionPlotCallback(inputs, tmp_path, source_tokens=["el", "gato"])
    with pytest.raises(ValueError, match="`target_tokens` has 1 token lists but 2 examples"):
        AttentionPlotCallback(inputs, tmp_path, target_tokens=[["a"]])
    with pytest.raises(ValueError, match="`every_n_epochs` must be at least 1"):
        AttentionPlotCallback(inputs, tmp_path, every_n_epochs=0)
    with pytest.raises(ValueError, match=r"`token_axes\['cross'\]` must be a pair"):
        AttentionPlotCallback(inputs, tmp_path, token_axes={"cross": ("source", "keys")})

    callback = AttentionPlotCallback(inputs, tmp_path)
    callback.set_model(keras.Sequential([keras.layers.Dense(1)]))
    with pytest.raises(TypeError, match="no `get_attention_weights.*attention_fn"):
        callback.on_epoch_end(0)

    too_long = [SOURCE_TOKENS[0] + ["extra"], SOURCE_TOKENS[1]]
    callback = AttentionPlotCallback(inputs, tmp_path, source_tokens=too_long)
    callback.set_model(TinyTranslator())
    with pytest.raises(ValueError, match=r"`source_tokens\[0\]` has 7 tokens but attention"):
        callback.on_epoch_end(0)
