"""The interactive HTML view: its data, its self-containment, and its behaviour in Chromium."""

import base64
import contextlib
import html
import io
import json
import pathlib
import re

import numpy as np
import pytest
from PIL import Image

from attention_layers.visualization import to_html, token_importance_html, views_to_html
from tests.helpers import run_in_process
from tests.visualization.cdp import Browser

SOURCE = ["el", "gato", "</script><b>bold</b>", "&amp;", "<end>"]
TARGET = ["the", "cat", "sat", "<end>"]


def _embedded(page):
    match = re.search(
        r'<script type="application/json" class="attention-data">(.*?)</script>', page, re.S
    )
    assert match, "the page has no attention data"
    return json.loads(match.group(1))


def _layers():
    """Two layers of two heads whose rows each peak at a different key."""
    rng = np.random.default_rng(0)
    layers = {}
    for name, shift in (("decoder 0", 0), ("decoder 1", 2)):
        heads = rng.dirichlet(np.ones(5), size=(2, 4)) * 0.2
        for head in range(2):
            for row in range(4):
                heads[head, row, (row + head + shift) % 5] += 0.8
        layers[name] = heads
    return layers


def test_page_holds_the_weights_and_tokens_it_was_given(tmp_path):
    layers = _layers()
    page = to_html(layers, SOURCE, TARGET, title="Cross <attention>", path=tmp_path / "v.html")
    assert (tmp_path / "v.html").read_text(encoding="utf-8") == page
    data = _embedded(page)
    assert data["source"] == SOURCE and data["target"] == TARGET
    assert data["title"] == "Cross <attention>"
    assert [layer["name"] for layer in data["layers"]] == ["decoder 0", "decoder 1"]
    for layer, weights in zip(data["layers"], layers.values(), strict=True):
        np.testing.assert_allclose(np.array(layer["weights"]), weights, atol=5e-5)
    # Tokens cannot break out of the data element or inject markup.
    assert "<b>bold</b>" not in page
    assert "<title>Cross &lt;attention&gt;</title>" in page


def test_page_is_self_contained():
    page = to_html(np.full((1, 3, 3), 1 / 3), ["a", "b", "c"])
    for reference in ("src=", "href=", "@import", "url(", "<link", "<iframe"):
        assert reference not in page
    # The only address is the SVG namespace, an identifier that is never fetched.
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]


def test_self_attention_defaults_and_shapes():
    data = _embedded(to_html(np.eye(3), ["a", "b", "c"], layer_names=["identity"]))
    assert data["target"] == ["a", "b", "c"]
    assert data["layers"] == [{"name": "identity", "weights": np.eye(3)[None].tolist()}]
    four_d = _embedded(to_html(np.ones((2, 3, 1, 2)) / 2, ["a", "b"], ["q"]))
    assert [layer["name"] for layer in four_d["layers"]] == ["layer 1", "layer 2"]  # from 1
    assert np.array(four_d["layers"][1]["weights"]).shape == (3, 1, 2)


def _visible_text(page):
    """The text a reader sees in a page without a script: tags removed, entities read."""
    body = re.sub(r"<(script|style|title)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_views_carry_their_own_headings():
    page = views_to_html(
        [
            ("cross", np.full((2, 3), 1 / 3), ["el", "gato", "<end>"], ["the", "cat"],
             "source words (keys)", "output words (queries)"),
            ("self", np.eye(2), ["the", "cat"], None, "output words (keys)",
             "output words (queries)"),
            ("plain", np.eye(2), ["a", "b"], None),
        ]
    )  # fmt: skip
    data = _embedded(page)
    assert [(layer["source_label"], layer["target_label"]) for layer in data["layers"]] == [
        ("source words (keys)", "output words (queries)"),
        ("output words (keys)", "output words (queries)"),
        ("source words (keys)", "output words (queries)"),  # to_html's defaults
    ]
    with pytest.raises(ValueError, match=r"`views\[0\]` has 5 items"):
        views_to_html([("cross", np.eye(2), ["a", "b"], None, "keys")])


def test_token_importance_page_colours_each_word_and_has_no_selectors(tmp_path):
    sentences = [
        ("Example 1: predicted positive (0.93), true positive", ["not", "<b>bad</b>", "at"],
         [0.7, 0.2, 0.1]),
        ("Example 2: predicted negative (0.20), true positive", ["dull"], [[1.0]]),
    ]  # fmt: skip
    page = token_importance_html(sentences, title="Attention at epoch 2", path=tmp_path / "s.html")
    assert (tmp_path / "s.html").read_text(encoding="utf-8") == page
    for forbidden in ("<select", "<script>", "src=", "href=", "<b>bad</b>"):
        assert forbidden not in page
    text = " ".join(_visible_text(page).split())
    assert "Attention at epoch 2" in text
    assert "Example 1: predicted positive (0.93), true positive not <b>bad</b> at" in text
    assert "Example 2: predicted negative (0.20), true positive dull" in text
    spans = re.findall(r'<span class="token" data-weight="([^"]+)"[^>]*?background-color: '
                       r'rgb\((\d+), (\d+), (\d+)\)', page)
    assert [float(weight) for weight, *_ in spans] == [0.7, 0.2, 0.1, 1.0]
    # The most attended word of each sentence is the darkest; lighter words weigh less.
    brightness = [sum(int(channel) for channel in rgb) for _, *rgb in spans]
    assert brightness[0] == brightness[3] == min(brightness)
    assert brightness[0] < brightness[1] < brightness[2]
    data = _embedded(page)
    assert data["sentences"][1] == {"heading": sentences[1][0], "tokens": ["dull"],
                                    "weights": [1.0]}
    with pytest.raises(ValueError, match=r"`sentences\[0\]` needs one weight per token"):
        token_importance_html([("h", ["a", "b"], [1.0])])


def _png(color):
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _figures(page):
    """`[(caption, alt, PNG bytes)]` of each `<figure>` of `page`."""
    found = re.findall(
        r'<figure class="attention-figure"><img alt="([^"]*)" src="data:image/png;base64,'
        r'([A-Za-z0-9+/=]+)">\n<figcaption>([^<]*)</figcaption></figure>', page
    )
    return [(html.unescape(caption), html.unescape(alt), base64.b64decode(data))
            for alt, data, caption in found]


def test_figures_are_embedded_under_the_view(tmp_path):
    # A classifier's confusion matrix, known after training, under its sentences: the PNG
    # itself (a data: URI), so that the page stays one file that opens anywhere.
    matrix, other = _png("red"), _png("blue")
    sentences = [("Example 1", ["a", "film"], [0.3, 0.7])]
    page = token_importance_html(
        sentences, path=tmp_path / "s.html",
        figures=[("Confusion <matrix>", matrix), ("Other", other)],
    )
    assert (tmp_path / "s.html").read_text(encoding="utf-8") == page
    assert _figures(page) == [("Confusion <matrix>", "Confusion <matrix>", matrix),
                              ("Other", "Other", other)]
    assert page.index('class="attention-figure"') > page.index('class="token"')
    assert "Confusion <matrix>" not in page  # escaped
    views = [("cross", np.eye(2), ["a", "b"], ["c", "d"])]
    assert _figures(views_to_html(views, figures=[("Confusion", matrix)])) == [
        ("Confusion", "Confusion", matrix)
    ]
    # Without figures, no image and no figure.
    for plain in (token_importance_html(sentences), views_to_html(views)):
        assert "<img" not in plain and "<figure" not in plain and "src=" not in plain
    with pytest.raises(ValueError, match=r"`figures\[0\]` is not \(caption, PNG bytes\)"):
        token_importance_html(sentences, figures=[("text", b"not a png")])


def test_page_rejects_disagreeing_tokens():
    with pytest.raises(ValueError, match=r"`weights\['cross'\]` has shape \(2, 4, 5\) but 3"):
        to_html({"cross": np.ones((2, 4, 5))}, SOURCE, TARGET[:3])
    with pytest.raises(ValueError, match="but 5 target_tokens \\(default: source_tokens\\)"):
        to_html(np.ones((4, 5)), SOURCE)
    with pytest.raises(ValueError, match="`weights` holds NaN or infinite values"):
        to_html(np.full((1, 2), np.nan), ["a", "b"], ["q"])


_KEY_WEIGHTS = "Array.from(document.querySelectorAll('.token.key')).map(e => e.dataset.weight)"
_QUERY_WEIGHTS = "Array.from(document.querySelectorAll('.token.query')).map(e => e.dataset.weight)"
_KEY_COLOURS = (
    "Array.from(document.querySelectorAll('.token.key')).map(e => e.style.backgroundColor)"
)


_TOKENS = "[...document.querySelectorAll('.token')].map(e => [e.dataset.side, e.textContent])"
_HEADINGS = "['.query-heading', '.key-heading'].map(s => document.querySelector(s).innerText)"
_SELECTORS_SHOWN = (
    "['.layer-select', '.head-select'].map(s => document.querySelector(s).offsetParent !== null)"
)


@contextlib.contextmanager
def _opened(chromium_executable, tmp_path, path):
    """The page at `path`, open in a headless Chromium, once its view is drawn."""
    profile = tmp_path / "profile"
    profile.mkdir()
    with Browser(chromium_executable, str(profile)) as browser:
        page = browser.new_page()
        page.open(path.as_uri(), "document.querySelector('.attention-view')?.dataset.ready")
        yield page


def _select(page, name, value):
    page.evaluate(
        f"(() => {{ const s = document.querySelector('.{name}-select'); s.value = '{value}';"
        " s.dispatchEvent(new Event('change')); })()"
    )


def _numbers(values):
    assert None not in values, f"some cells are not highlighted: {values}"
    return np.array([float(value) for value in values])


@pytest.mark.slow
def test_hovering_a_token_highlights_its_weights_in_chromium(chromium_executable, tmp_path):
    layers = _layers()
    rounded = {name: np.round(weights, 4) for name, weights in layers.items()}
    path = tmp_path / "attention.html"
    to_html(layers, SOURCE, TARGET, path=path)
    with _opened(chromium_executable, tmp_path, path) as page:
        tokens = page.evaluate(_TOKENS)
        assert tokens == [["query", t] for t in TARGET] + [["key", s] for s in SOURCE]
        assert page.evaluate(_HEADINGS) == ["output words (queries)", "source words (keys)"]
        assert page.evaluate(_SELECTORS_SHOWN) == [True, True]  # 2 layers, 2 heads
        assert page.evaluate("document.querySelectorAll('.lines line').length") > 0
        assert page.evaluate(_KEY_WEIGHTS) == [None] * 5  # nothing highlighted yet

        # Default: layer 0, the mean of its heads. Hover "the", then "sat".
        mean = rounded["decoder 0"].mean(axis=0)
        page.hover(".token.query[data-index='0']")
        np.testing.assert_allclose(_numbers(page.evaluate(_KEY_WEIGHTS)), mean[0], atol=1e-6)
        colours_for_the = page.evaluate(_KEY_COLOURS)
        assert page.evaluate("document.querySelectorAll('.lines line').length") <= 5
        page.hover(".token.query[data-index='2']")
        np.testing.assert_allclose(_numbers(page.evaluate(_KEY_WEIGHTS)), mean[2], atol=1e-6)
        assert page.evaluate(_KEY_COLOURS) != colours_for_the  # the highlighted cells changed
        # The strongest highlight is on the key with the largest weight.
        strongest = page.evaluate(
            "[...document.querySelectorAll('.token.key')].map(e => "
            "parseFloat(getComputedStyle(e).backgroundColor.split(',')[3] || '1'))"
        )
        assert int(np.argmax(strongest)) == int(mean[2].argmax())

        # Head 1 of layer 1: hover a key, and the queries show what attends to it.
        _select(page, "layer", 1)
        _select(page, "head", 1)
        page.hover(".token.key[data-index='3']")
        np.testing.assert_allclose(
            _numbers(page.evaluate(_QUERY_WEIGHTS)), rounded["decoder 1"][1][:, 3], atol=1e-6
        )
        page.hover(".token.query[data-index='1']")
        np.testing.assert_allclose(
            _numbers(page.evaluate(_KEY_WEIGHTS)), rounded["decoder 1"][1][1], atol=1e-6
        )
        screenshot = page.screenshot(tmp_path / "attention_view.png")

        requests = [event["request"]["url"] for event in page.events("Network.requestWillBeSent")]
        assert requests == [path.as_uri()]  # the page fetched nothing else
        assert page.events("Runtime.exceptionThrown") == []
    with Image.open(screenshot) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 10  # something was drawn, kept for a human at `screenshot`


@pytest.mark.slow
def test_one_map_has_headings_and_no_selectors_in_chromium(chromium_executable, tmp_path):
    path = tmp_path / "one.html"
    to_html(np.eye(2), ["la", "casa"], ["the", "house"], path=path,
            source_label="Spanish", target_label="English")  # fmt: skip
    with _opened(chromium_executable, tmp_path, path) as page:
        assert page.evaluate(_HEADINGS) == ["English", "Spanish"]
        assert page.evaluate(_SELECTORS_SHOWN) == [False, False]  # one layer, one head
        assert page.events("Runtime.exceptionThrown") == []


TINY_TRANSLATOR = (
    "--num-pairs", "300", "--layers", "1", "--model-dim", "16", "--heads", "2",
    "--feed-forward-dim", "32", "--epochs", "1", "--batch-size", "64",
)  # fmt: skip


def _readme_export_limits(root):
    """The limits the docs say a default run's `export.json` records (docs/export.md)."""
    page = (root / "docs" / "export.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```json\n(.*?)```", page, flags=re.DOTALL)
    return json.loads(block)


@pytest.mark.slow
def test_a_training_run_writes_a_view_that_opens_in_chromium(chromium_executable, tmp_path,
                                                             capsys):
    import train_translator  # the command's `main`, in this process: no second start-up

    root = pathlib.Path(__file__).parents[2]
    output = tmp_path / "run"
    code, _, err = run_in_process(train_translator, [*TINY_TRANSLATOR, "--output", output],
                                  capsys)
    assert code == 0, err[-3000:]
    # The run's export records the limits the README states (the run keeps the default
    # preset's --max-length, the only flag they depend on).
    export = json.loads((output / "serving" / "1" / "assets.extra" / "export.json").read_text())
    assert export["limits"] == _readme_export_limits(root)
    path = output / "attention" / "attention.html"
    data = _embedded(path.read_text(encoding="utf-8"))
    assert data["title"] == "Attention at epoch 1"
    first = data["layers"][0]
    assert first["name"] == "Example 1: Decoder layer 1, cross-attention"
    weights = np.array(first["weights"])  # (heads, T_q, T_k), cropped to the tokens
    assert weights.shape == (2, len(first["target"]), len(first["source"]))
    assert first["source"][-1] == "[END]"
    with _opened(chromium_executable, tmp_path, path) as page:
        tokens = page.evaluate(_TOKENS)
        assert tokens == [["query", t] for t in first["target"]] + [
            ["key", s] for s in first["source"]
        ]
        assert page.evaluate(_HEADINGS) == ["output words (queries)", "source words (keys)"]
        page.hover(".token.query[data-index='0']")
        np.testing.assert_allclose(
            _numbers(page.evaluate(_KEY_WEIGHTS)), weights.mean(axis=0)[0], atol=1e-6
        )
        # The second example's map has its own tokens.
        _select(page, "layer", 1)
        second = data["layers"][1]
        queries = page.evaluate(
            "[...document.querySelectorAll('.token.query')].map(e => e.textContent)"
        )
        assert queries == second["target"]
        assert page.evaluate("document.querySelector('.head-select').options[1].textContent") == (
            "head 1"
        )
        assert page.events("Runtime.exceptionThrown") == []
