"""A self-contained interactive HTML view of attention, in the manner of bertviz's head view.

The page needs no network and no Python at viewing time: the weights travel inside it as
JSON, and a small inline script draws the tokens and the lines between them.
"""

import base64
import hashlib
import html
import json
import pathlib
import re

import numpy as np

from attention_layers.utils.files import atomic_write_text
from attention_layers.visualization._common import (
    SOURCE_LABEL,
    TARGET_LABEL,
    as_layers,
    check_tokens,
    to_numpy,
    to_tokens,
)

# The start of both documents, up to their styles.
_DOCUMENT_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
.attention-figure { margin: 16px; font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
  font-size: 14px; color: #444; }
.attention-figure img { max-width: 100%; }
"""

# The document. `__...__` markers are replaced by `to_html`; every element is looked up
# inside the view's root element, so several views can share one page (e.g. a notebook).
_TEMPLATE = _DOCUMENT_HEAD + """.attention-view { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
  margin: 16px; }
.attention-view h2 { font-size: 18px; margin: 0 0 8px 0; }
.attention-view .controls { margin-bottom: 10px; font-size: 14px; }
.attention-view .controls label { margin-right: 16px; }
.attention-view .hint { color: #666; font-size: 13px; margin-bottom: 10px; }
.attention-view .board { display: flex; align-items: flex-start; }
.attention-view .column { display: flex; flex-direction: column; }
.attention-view .queries { align-items: flex-end; }
.attention-view .keys { align-items: flex-start; }
.attention-view .token { height: 22px; line-height: 22px; padding: 0 6px; border-radius: 3px;
  font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 14px;
  white-space: pre; cursor: default; box-sizing: border-box; }
.attention-view .token.active { outline: 2px solid #222; }
.attention-view .token:focus { outline: 2px dashed #222; }
.attention-view svg { flex: none; }
.attention-view .heading { height: 22px; line-height: 22px; padding: 0 6px; font-size: 13px;
  font-weight: 600; color: #555; white-space: nowrap; }
.attention-view .side { display: flex; flex-direction: column; }
.attention-view .side.queries-side { align-items: flex-end; }
</style>
</head>
<body>
<div class="attention-view" id="__ROOT__">
<h2 class="title"></h2>
<div class="controls">
<label>Layer <select class="layer-select"></select></label>
<label>Head <select class="head-select"></select></label>
</div>
<div class="hint">Hover over (or tab to) a token: on the left, where it attends;
on the right, what attends to it. Line opacity and colour strength are the weights.</div>
<div class="board">
<div class="side queries-side"><div class="heading query-heading"></div>
<div class="column queries"></div></div>
<div class="side"><div class="heading"></div>
<svg class="lines" width="240" height="22"></svg></div>
<div class="side"><div class="heading key-heading"></div>
<div class="column keys"></div></div>
</div>
<script type="application/json" class="attention-data">__DATA__</script>
</div>
<script>
(function () {
  "use strict";
  var root = document.getElementById("__ROOT__");
  var data = JSON.parse(root.querySelector(".attention-data").textContent);
  var ROW = 22, WIDTH = 240, SVG_NS = "http://www.w3.org/2000/svg";
  var COLOURS = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
    [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34],
    [23, 190, 207]];
  var layerSelect = root.querySelector(".layer-select");
  var headSelect = root.querySelector(".head-select");
  var queryColumn = root.querySelector(".queries");
  var keyColumn = root.querySelector(".keys");
  var svg = root.querySelector(".lines");
  var queryHeading = root.querySelector(".query-heading");
  var keyHeading = root.querySelector(".key-heading");
  var hovered = null;  // {side: "query" | "key", index: number}

  root.querySelector(".title").textContent = data.title;

  function option(select, value, text) {
    var element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    select.appendChild(element);
  }

  function tokens(column, words, side) {
    column.textContent = "";
    words.forEach(function (word, index) {
      var element = document.createElement("div");
      element.className = "token " + side;
      element.dataset.side = side;
      element.dataset.index = index;
      element.tabIndex = 0;
      element.textContent = word;
      column.appendChild(element);
    });
  }

  function layer() { return data.layers[Number(layerSelect.value)]; }

  // A layer may carry its own tokens and headings (e.g. self-attention beside
  // cross-attention).
  function words(side) { return layer()[side] || data[side]; }
  function heading(side) { return layer()[side + "_label"] || data[side + "_label"]; }

  function fillTokens() {
    hovered = null;
    queryHeading.textContent = heading("target");
    keyHeading.textContent = heading("source");
    tokens(queryColumn, words("target"), "query");
    tokens(keyColumn, words("source"), "key");
  }

  function colour() {
    var head = headSelect.value;
    return head === "mean" ? [60, 60, 150] : COLOURS[Number(head) % COLOURS.length];
  }

  // The selected head's (T_q, T_k) weights, or their mean over heads.
  function weights() {
    var heads = layer().weights, head = headSelect.value;
    if (head !== "mean") { return heads[Number(head)]; }
    return heads[0].map(function (row, i) {
      return row.map(function (unused, j) {
        var total = 0;
        heads.forEach(function (h) { total += h[i][j]; });
        return total / heads.length;
      });
    });
  }

  function fillHeads() {
    var previous = headSelect.value, count = layer().weights.length;
    headSelect.parentNode.hidden = count < 2;  // one head: nothing to choose
    headSelect.textContent = "";
    if (count > 1) { option(headSelect, "mean", "all (mean)"); }
    for (var head = 0; head < count; head++) {
      option(headSelect, String(head), "head " + (head + 1));
    }
    var kept = Array.prototype.some.call(headSelect.options, function (o) {
      return o.value === previous;
    });
    headSelect.value = kept ? previous : headSelect.options[0].value;
  }

  function draw() {
    var matrix = weights(), rgb = colour().join(",");
    svg.textContent = "";
    svg.setAttribute("height", Math.max(words("target").length, words("source").length) * ROW);
    matrix.forEach(function (row, i) {
      row.forEach(function (weight, j) {
        var shown = !hovered || (hovered.side === "query" ? hovered.index === i
                                                          : hovered.index === j);
        if (!shown || weight < 0.005) { return; }
        var line = document.createElementNS(SVG_NS, "line");
        line.setAttribute("x1", 2);
        line.setAttribute("y1", i * ROW + ROW / 2);
        line.setAttribute("x2", WIDTH - 2);
        line.setAttribute("y2", j * ROW + ROW / 2);
        line.setAttribute("stroke", "rgb(" + rgb + ")");
        line.setAttribute("stroke-opacity", weight);
        line.setAttribute("stroke-width", 2);
        svg.appendChild(line);
      });
    });
    // Highlight: the other side's tokens, coloured by the hovered token's weights,
    // scaled by their largest weight so a flat distribution over many tokens shows.
    root.querySelectorAll(".token").forEach(function (element) {
      element.classList.remove("active", "highlighted");
      element.style.backgroundColor = "";
      element.style.color = "";
      element.removeAttribute("title");
      delete element.dataset.weight;
    });
    if (!hovered) { return; }
    var active = hovered.side === "query" ? queryColumn : keyColumn;
    active.children[hovered.index].classList.add("active");
    var others = hovered.side === "query" ? keyColumn.children : queryColumn.children;
    var values = Array.prototype.map.call(others, function (unused, k) {
      return hovered.side === "query" ? matrix[hovered.index][k] : matrix[k][hovered.index];
    });
    var largest = Math.max.apply(null, values.concat([1e-12]));
    Array.prototype.forEach.call(others, function (element, k) {
      var strength = values[k] / largest;
      element.dataset.weight = values[k];
      element.title = values[k].toFixed(3);
      element.classList.add("highlighted");
      element.style.backgroundColor = "rgba(" + rgb + "," + strength.toFixed(3) + ")";
      element.style.color = strength > 0.55 ? "white" : "";
    });
  }

  function hover(event) {
    var element = event.target.closest(".token");
    if (!element || !root.contains(element)) { return; }
    hovered = {side: element.dataset.side, index: Number(element.dataset.index)};
    draw();
  }

  function leave() { hovered = null; draw(); }

  data.layers.forEach(function (entry, index) { option(layerSelect, String(index), entry.name); });
  layerSelect.parentNode.hidden = data.layers.length < 2;
  fillTokens();
  fillHeads();
  layerSelect.addEventListener("change", function () { fillTokens(); fillHeads(); draw(); });
  headSelect.addEventListener("change", draw);
  [queryColumn, keyColumn].forEach(function (column) {
    column.addEventListener("mouseover", hover);
    column.addEventListener("focusin", hover);
    column.addEventListener("mouseleave", leave);
    column.addEventListener("focusout", leave);
  });
  draw();
  root.dataset.ready = "true";
}());
</script>
__FIGURES__
</body>
</html>
"""


def _json_for_script(value):
    """JSON that cannot end its `<script>` element early, whatever the tokens contain."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_html(
    weights,
    source_tokens,
    target_tokens=None,
    *,
    layer_names=None,
    title="Attention",
    source_label=SOURCE_LABEL,
    target_label=TARGET_LABEL,
    path=None,
    decimals=4,
):
    """Makes a self-contained interactive HTML page of attention weights.

    Like bertviz's head view, without PyTorch: the queries (target tokens) stand in a
    column on the left, the keys (source tokens) on the right, each under its heading,
    joined by lines whose opacity is the attention weight. Hovering over a token (or
    focusing it with the keyboard) keeps only its lines and colours the other column by
    its weights; selectors choose the layer and the head (or the mean over heads), and are
    hidden when there is only one of either. The page holds its data, CSS
    and JavaScript inline and loads nothing: it opens offline, by e-mail, in a notebook
    (`IPython.display.HTML(page)`).

    Args:
        weights: an array `(T_q, T_k)`, `(heads, T_q, T_k)` or
            `(layers, heads, T_q, T_k)`, or a dict `{layer_name: array}` (or a list of
            arrays), each `(T_q, T_k)` or `(heads, T_q, T_k)`. Numpy or backend tensors.
        source_tokens: list of `T_k` strings (the keys).
        target_tokens: list of `T_q` strings (the queries); default `source_tokens`
            (self-attention).
        layer_names: optional names of the layers when `weights` is an array or a list
            (default "layer 1", "layer 2", ...).
        title: the page's title.
        source_label: the heading of the key (source) column.
        target_label: the heading of the query (target) column.
        path: optional file to write the page to (UTF-8).
        decimals: weights are rounded to this many decimals to keep the file small.

    Returns:
        The HTML document, a `str`. The weights are in its
        `<script type="application/json" class="attention-data">` element as
        `{"title", "source", "target", "source_label", "target_label",
        "layers": [{"name", "weights"}]}`, each layer's
        `weights` a `(heads, T_q, T_k)` nested list.

    Example:

    >>> import numpy as np
    >>> weights = np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 4, 2))
    >>> page = to_html(weights, ["el", "gato", "<end>"], ["the", "cat"], path="view.html")
    ... # doctest: +SKIP
    """
    layers, names, labels = as_layers(weights, layer_names)
    source_tokens = to_tokens("source_tokens", source_tokens)
    if source_tokens is None:
        raise ValueError("`source_tokens` is required; received None.")
    target_tokens = to_tokens("target_tokens", target_tokens)
    if target_tokens is None:
        target_tokens = source_tokens
        target_name = "target_tokens (default: source_tokens)"
    else:
        target_name = "target_tokens"
    for label, layer in zip(labels, layers, strict=True):
        check_tokens(label, layer.shape, -2, target_tokens, target_name, "query (row)")
        check_tokens(label, layer.shape, -1, source_tokens, "source_tokens", "key (column)")
        if not np.isfinite(layer).all():
            raise ValueError(f"`{label}` holds NaN or infinite values; JSON cannot carry them.")
    if names is None:
        names = [f"layer {index + 1}" for index in range(len(layers))]
    data = {
        "title": str(title),
        "source": source_tokens,
        "target": target_tokens,
        "source_label": str(source_label),
        "target_label": str(target_label),
        "layers": [
            {"name": name, "weights": _rounded(layer, decimals)}
            for name, layer in zip(names, layers, strict=True)
        ],
    }
    return _page(data, path)


def views_to_html(views, *, title="Attention", path=None, decimals=4, figures=()):
    """One HTML page of several attention maps, each with its own tokens.

    The page is `to_html`'s, with one entry of the layer selector per view: e.g. every
    example and layer that `AttentionPlotCallback` plots, self-attention (a sentence
    against itself) beside cross-attention (output against source).

    Args:
        views: a list of `(name, weights, source_tokens, target_tokens)`, or of
            `(name, weights, source_tokens, target_tokens, source_label, target_label)`
            to give the view's column headings (default `to_html`'s); `weights` of shape
            `(T_q, T_k)` or `(heads, T_q, T_k)`, the tokens lists of `T_k` and `T_q`
            strings (target None: the source tokens).
        title, path, decimals: as for `to_html`.
        figures: `(caption, PNG bytes)` pairs shown under the view (`token_importance_html`).

    Returns:
        The HTML document, a `str`; each layer entry of its data also holds its
        `"source"` and `"target"` tokens and their headings, `"source_label"` and
        `"target_label"`.
    """
    if not views:
        raise ValueError("`views` is empty; give at least one (name, weights, tokens) view.")
    entries = []
    for index, view in enumerate(views):
        if len(view) not in (4, 6):
            raise ValueError(
                f"`views[{index}]` has {len(view)} items; give (name, weights, source_tokens, "
                "target_tokens), optionally followed by (source_label, target_label)."
            )
        name, weights, source_tokens, target_tokens, *labels = view
        headings = dict(zip(("source_label", "target_label"), labels, strict=False))
        # `to_html` checks and converts each view; its page's data is the entry.
        page = to_html(
            {name: weights}, source_tokens, target_tokens, decimals=decimals, **headings
        )
        data = _embedded_data(page)
        entries.append(
            {
                **data["layers"][0],
                **{key: data[key] for key in _SIDE_KEYS},
            }
        )
    first = entries[0]
    data = {"title": str(title), **{key: first[key] for key in _SIDE_KEYS}}
    return _page({**data, "layers": entries}, path, figures)


_SIDE_KEYS = ("source", "target", "source_label", "target_label")

# The colour scale of the sentences (matplotlib's "Reds" at 0 and 1, as the PNG files).
_LIGHTEST, _DARKEST = np.array([255, 245, 240]), np.array([103, 0, 13])

_SENTENCES_TEMPLATE = _DOCUMENT_HEAD + """.attention-sentences { font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
  color: #222; margin: 16px; max-width: 60em; }
.attention-sentences h2 { font-size: 18px; margin: 0 0 8px 0; }
.attention-sentences h3 { font-size: 15px; margin: 16px 0 6px 0; }
.attention-sentences .hint { color: #666; font-size: 13px; }
.attention-sentences .token { display: inline-block; margin: 2px 1px; padding: 1px 4px;
  border-radius: 3px; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  font-size: 14px; white-space: pre; }
</style>
</head>
<body>
<div class="attention-sentences" id="__ROOT__">
<h2 class="title">__TITLE__</h2>
<div class="hint">The darker a word, the more attention it gets (relative to the sentence's
most attended word); hover over a word for its weight.</div>
__SENTENCES__
<script type="application/json" class="attention-data">__DATA__</script>
</div>
__FIGURES__
</body>
</html>
"""


def token_importance_html(sentences, *, title="Attention", path=None, decimals=4, figures=()):
    """A self-contained HTML page of sentences, each word coloured by its attention weight.

    The HTML counterpart of `plot_token_importance`, for attention pooling: one query
    attends once over a sentence's tokens, so there is no layer, head or query to choose,
    and the page has no selectors and no script: each sentence under its heading (e.g.
    "Example 1: predicted positive (0.93), true positive"), its words on a white-to-red
    background scaled to the sentence's largest weight, the weight in each word's tooltip.

    Args:
        sentences: a list of `(heading, tokens, weights)`: `tokens` a list of `T` strings,
            `weights` of shape `(T,)` or `(1, T)`.
        title: the page's title.
        path: optional file to write the page to (UTF-8, all or nothing).
        decimals: weights are rounded to this many decimals.
        figures: `(caption, PNG bytes)` pairs shown under the sentences, each a
            `<figure class="attention-figure">` whose `<img>` holds the PNG (a `data:` URI:
            the page stays one file), e.g. a classifier's confusion matrix.

    Returns:
        The HTML document, a `str`. Its `<script type="application/json"
        class="attention-data">` element holds `{"title", "sentences": [{"heading",
        "tokens", "weights"}]}`; each word is a `<span class="token">` whose
        `data-weight` is its weight.

    Example:

    >>> page = token_importance_html(
    ...     [("positive", ["a", "truly", "wonderful", "film"], [0.05, 0.15, 0.7, 0.1])],
    ...     path="sentences.html",
    ... )  # doctest: +SKIP
    """
    if not sentences:
        raise ValueError("`sentences` is empty; give at least one (heading, tokens, weights).")
    entries, blocks = [], []
    for index, (heading, tokens, weights) in enumerate(sentences):
        tokens = to_tokens(f"sentences[{index}] tokens", tokens)
        weights = to_numpy(f"sentences[{index}] weights", weights)
        if weights.ndim == 2 and weights.shape[0] == 1:
            weights = weights[0]
        if weights.ndim != 1 or tokens is None or len(tokens) != len(weights):
            raise ValueError(
                f"`sentences[{index}]` needs one weight per token: {len(tokens or [])} "
                f"tokens, weights of shape {weights.shape}."
            )
        if not np.isfinite(weights).all():
            raise ValueError(f"`sentences[{index}]` weights hold NaN or infinite values.")
        rounded = _rounded(weights, decimals)
        entries.append({"heading": str(heading), "tokens": tokens, "weights": rounded})
        largest = max(max(rounded, default=0.0), 1e-12)
        words = []
        for token, weight in zip(tokens, rounded, strict=True):
            strength = max(weight, 0.0) / largest
            red, green, blue = np.round(_LIGHTEST + strength * (_DARKEST - _LIGHTEST)).astype(int)
            colour = "white" if strength > 0.55 else "#222"
            words.append(
                f'<span class="token" data-weight="{weight}" title="{weight:.3f}" '
                f'style="background-color: rgb({red}, {green}, {blue}); color: {colour}">'
                f"{html.escape(token)}</span>"
            )
        blocks.append(
            f'<div class="sentence"><h3>{html.escape(str(heading))}</h3>\n<p>'
            + " ".join(words) + "</p></div>"
        )
    data = {"title": str(title), "sentences": entries}
    payload = _json_for_script(data)
    fields = {
        "__ROOT__": _root_id(payload, "attention-sentences-"),
        "__TITLE__": html.escape(data["title"]),
        "__DATA__": payload,
        "__SENTENCES__": "\n".join(blocks),
        "__FIGURES__": _figures_html(figures),
    }
    page = re.sub(
        "__ROOT__|__TITLE__|__DATA__|__SENTENCES__|__FIGURES__",
        lambda match: fields[match.group()],
        _SENTENCES_TEMPLATE,
    )
    return _written(page, path)


def _rounded(layer, decimals):
    return np.round(layer.astype(np.float64), decimals).tolist()


def _embedded_data(page):
    """The data `to_html` put in `page`, back as Python objects."""
    start = page.index('class="attention-data">') + len('class="attention-data">')
    return json.loads(page[start : page.index("</script>", start)])


def _root_id(payload, prefix):
    return prefix + hashlib.sha1(payload.encode("utf-8")).hexdigest()[:12]


def _page(data, path, figures=()):
    """The document holding `data`, then `figures`, written to `path` (all or nothing) when
    given."""
    payload = _json_for_script(data)
    title = html.escape(data["title"])
    fields = {"__ROOT__": _root_id(payload, "attention-view-"), "__TITLE__": title,
              "__DATA__": payload, "__FIGURES__": _figures_html(figures)}
    # One pass, so that a title or a token spelling a marker is never substituted.
    page = re.sub("__ROOT__|__TITLE__|__DATA__|__FIGURES__", lambda match: fields[match.group()],
                  _TEMPLATE)
    return _written(page, path)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _figures_html(figures):
    """A `<figure>` per `(caption, PNG bytes)` of `figures`, the image inline (`data:` URI)."""
    blocks = []
    for index, (caption, png) in enumerate(figures):
        if not isinstance(png, bytes) or not png.startswith(_PNG_SIGNATURE):
            raise ValueError(f"`figures[{index}]` is not (caption, PNG bytes).")
        caption = html.escape(str(caption))
        encoded = base64.b64encode(png).decode("ascii")
        blocks.append(
            f'<figure class="attention-figure"><img alt="{caption}" '
            f'src="data:image/png;base64,{encoded}">\n<figcaption>{caption}</figcaption></figure>'
        )
    return "\n".join(blocks)


def _written(page, path):
    """`page`, written to `path` first when given."""
    if path is not None:
        # All or nothing: a browser (or a killed run) never sees half a page.
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, page)
    return page
