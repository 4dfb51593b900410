"""A self-contained interactive HTML view of attention, in the manner of bertviz's head view.

The page needs no network and no Python at viewing time: the weights travel inside it as
JSON, and a small inline script draws the tokens and the lines between them.
"""

import hashlib
import html
import json
import pathlib
import re

import numpy as np

from attention_layers.utils.files import atomic_write_text
from attention_layers.visualization._common import as_layers, check_tokens, to_tokens

# The document. `__...__` markers are replaced by `to_html`; every element is looked up
# inside the view's root element, so several views can share one page (e.g. a notebook).
_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
.attention-view { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
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
<div class="column queries"></div>
<svg class="lines" width="240" height="22"></svg>
<div class="column keys"></div>
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

  // A layer may carry its own tokens (e.g. self-attention beside cross-attention).
  function words(side) { return layer()[side] || data[side]; }

  function fillTokens() {
    hovered = null;
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
    path=None,
    decimals=4,
):
    """Makes a self-contained interactive HTML page of attention weights.

    Like bertviz's head view, without PyTorch: the queries (target tokens) stand in a
    column on the left, the keys (source tokens) on the right, joined by lines whose
    opacity is the attention weight. Hovering over a token (or focusing it with the
    keyboard) keeps only its lines and colours the other column by its weights; selectors
    choose the layer and the head (or the mean over heads). The page holds its data, CSS
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
            (default "layer 0", "layer 1", ...).
        title: the page's title.
        path: optional file to write the page to (UTF-8).
        decimals: weights are rounded to this many decimals to keep the file small.

    Returns:
        The HTML document, a `str`. The weights are in its
        `<script type="application/json" class="attention-data">` element as
        `{"title", "source", "target", "layers": [{"name", "weights"}]}`, each layer's
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
        names = [f"layer {index}" for index in range(len(layers))]
    data = {
        "title": str(title),
        "source": source_tokens,
        "target": target_tokens,
        "layers": [
            {"name": name, "weights": _rounded(layer, decimals)}
            for name, layer in zip(names, layers, strict=True)
        ],
    }
    return _page(data, path)


def views_to_html(views, *, title="Attention", path=None, decimals=4):
    """One HTML page of several attention maps, each with its own tokens.

    The page is `to_html`'s, with one entry of the layer selector per view: e.g. every
    example and layer that `AttentionPlotCallback` plots, self-attention (a sentence
    against itself) beside cross-attention (output against source).

    Args:
        views: a list of `(name, weights, source_tokens, target_tokens)`, `weights` of
            shape `(T_q, T_k)` or `(heads, T_q, T_k)`, the tokens lists of `T_k` and `T_q`
            strings (target None: the source tokens).
        title, path, decimals: as for `to_html`.

    Returns:
        The HTML document, a `str`; each layer entry of its data also holds its
        `"source"` and `"target"` tokens.
    """
    if not views:
        raise ValueError("`views` is empty; give at least one (name, weights, tokens) view.")
    entries = []
    for name, weights, source_tokens, target_tokens in views:
        # `to_html` checks and converts each view; its page's data is the entry.
        page = to_html({name: weights}, source_tokens, target_tokens, decimals=decimals)
        data = _embedded_data(page)
        entries.append({**data["layers"][0], "source": data["source"], "target": data["target"]})
    first = entries[0]
    data = {"title": str(title), "source": first["source"], "target": first["target"]}
    return _page({**data, "layers": entries}, path)


def _rounded(layer, decimals):
    return np.round(layer.astype(np.float64), decimals).tolist()


def _embedded_data(page):
    """The data `to_html` put in `page`, back as Python objects."""
    start = page.index('class="attention-data">') + len('class="attention-data">')
    return json.loads(page[start : page.index("</script>", start)])


def _page(data, path):
    """The document holding `data`, written to `path` (all or nothing) when given."""
    payload = _json_for_script(data)
    root_id = "attention-view-" + hashlib.sha1(payload.encode("utf-8")).hexdigest()[:12]
    title = html.escape(data["title"])
    fields = {"__ROOT__": root_id, "__TITLE__": title, "__DATA__": payload}
    # One pass, so that a title or a token spelling a marker is never substituted.
    page = re.sub("__ROOT__|__TITLE__|__DATA__", lambda match: fields[match.group()], _TEMPLATE)
    if path is not None:
        # All or nothing: a browser (or a killed run) never sees half a page.
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, page)
    return page
