"""Attention weights as labelled heatmaps: one map, a layer x head grid, an animation.

Rows are queries (the target tokens, what is being produced), columns are keys (the source
tokens, what is attended to), as in Bahdanau et al. 2015, Fig. 3. Every function builds a
`matplotlib.figure.Figure` directly (no pyplot), so nothing is shown or kept alive behind the
caller's back: a notebook displays the returned figure once, a script saves it.
"""

import pathlib

import numpy as np
from matplotlib import animation
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

from attention_layers.visualization._common import (
    SOURCE_LABEL,
    TARGET_LABEL,
    as_layers,
    check_ndim,
    check_tokens,
    escape_label,
    to_numpy,
    to_tokens,
)

# A cell is at least 0.18 inch (13 points) high, so a 9-point label per row never overlaps
# its neighbour however many tokens there are: the figure grows instead.
_MIN_CELL_INCHES = 0.18
_MAX_CELL_INCHES = 0.45
# In a grid, panels may shrink further; labels are dropped when they would be unreadable.
_MIN_GRID_CELL_INCHES = 0.05
_MIN_LABEL_POINTS = 4.5
# Room for the axis titles ("source words (keys)") and the colour bar's label.
_AXIS_TITLE_INCHES = 0.3
_TITLE_POINTS = 10
COLORBAR_LABEL = "attention weight"


def _cell_inches(num_rows, num_cols, budget_inches, min_cell):
    longest = max(num_rows, num_cols, 1)
    return float(np.clip(budget_inches / longest, min_cell, _MAX_CELL_INCHES))


def _label_points(cell_inches):
    # 70% of the cell height leaves room for the line spacing of the font.
    return float(min(cell_inches * 72 * 0.7, 10.0))


def _draw_heatmap(
    ax,
    weights,
    source_tokens,
    target_tokens,
    *,
    cmap,
    vmax,
    fontsize,
    show_x_labels=True,
    show_y_labels=True,
):
    """Draws `weights (T_q, T_k)` on `ax`; returns the `AxesImage`."""
    num_queries, num_keys = weights.shape
    image = ax.imshow(
        weights, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest"
    )
    # Thin white lines between cells keep a row traceable across 40+ columns (two line
    # collections: far cheaper to draw than a grid of minor ticks).
    line_style = {"colors": "white", "linewidth": 0.4, "alpha": 0.6}
    ax.vlines(np.arange(1, num_keys) - 0.5, -0.5, num_queries - 0.5, **line_style)
    ax.hlines(np.arange(1, num_queries) - 0.5, -0.5, num_keys - 0.5, **line_style)
    ax.tick_params(length=2, labelsize=fontsize)
    for axis, tokens, size, show, rotation in (
        (ax.xaxis, source_tokens, num_keys, show_x_labels, 90),
        (ax.yaxis, target_tokens, num_queries, show_y_labels, 0),
    ):
        if not show:
            axis.set_ticks([])
        elif fontsize >= _MIN_LABEL_POINTS:
            # Every position gets its label (its token, or its position counted from 1, as
            # a reader counts): none is skipped.
            labels = [str(index + 1) for index in range(size)] if tokens is None else tokens
            axis.set_ticks(
                range(size),
                labels=[escape_label(label) for label in labels],
                rotation=rotation if tokens is not None else 0,
                fontsize=fontsize,
            )
        else:
            axis.set_major_locator(MaxNLocator(nbins=5, integer=True))
            axis.set_tick_params(labelsize=6)
    return image


def _text_inches(text, points):
    """The length of `text` drawn at `points`, measured."""
    renderer = RendererAgg(1, 1, 72)
    width = renderer.get_text_width_height_descent(text, FontProperties(size=points), False)[0]
    return width / 72


def _label_inches(tokens, points, labelled):
    """Room for a column of tick labels: the widest token, measured, plus the tick."""
    if not labelled or not tokens:
        return 0.35  # index ticks
    return max(_text_inches(token, points) for token in tokens) + 0.12


def _add_titles(fig, image, colorbar_box, axis_labels, grid_centre_x):
    """The colour bar with its label, and the axis titles of the grid, in `fig`."""
    colorbar_ax = fig.add_axes(colorbar_box)
    fig.colorbar(image, cax=colorbar_ax).set_label(COLORBAR_LABEL, fontsize=_TITLE_POINTS - 1)
    colorbar_ax.tick_params(labelsize=8)
    key_label, query_label = axis_labels
    inch = 1 / fig.get_figwidth(), 1 / fig.get_figheight()
    fig.supxlabel(key_label, x=grid_centre_x, y=0.05 * inch[1], va="bottom", fontsize=10)
    fig.supylabel(query_label, x=0.05 * inch[0], ha="left", fontsize=_TITLE_POINTS)


def _heatmap_grid(
    grid,
    source_tokens,
    target_tokens,
    *,
    title,
    axis_labels,
    cmap,
    vmax,
    row_names=None,
    column_names=None,
):
    """A figure of heatmaps, `grid[row][column]` each `(T_q, T_k)`; returns (fig, images).

    `axis_labels` is `(key_label, query_label)`: the titles of the grid's x and y axes.
    A single map (no row or column titles) gets large cells (6 inches for its longest
    side); the panels of a titled grid get 3 inches each and may shrink further.

    The layout is computed here, in inches, from the measured token labels, rather than by
    a layout engine, which draws every label several times: the callback draws each epoch.
    """
    num_rows = len(grid)
    num_columns = max(len(row) for row in grid)
    single_map = row_names is None and column_names is None
    budget_inches = 6.0 if single_map else 3.0
    min_cell = _MIN_CELL_INCHES if single_map else _MIN_GRID_CELL_INCHES
    num_queries = max(panel.shape[0] for row in grid for panel in row)
    num_keys = max(panel.shape[1] for row in grid for panel in row)
    cell = _cell_inches(num_queries, num_keys, budget_inches, min_cell)
    # Keep a wide grid under ~20 inches: cells shrink (and labels go) before that.
    cell = max(min(cell, 20.0 / (num_columns * num_keys)), min_cell / 4)
    fontsize = _label_points(cell)
    labelled = fontsize >= _MIN_LABEL_POINTS
    panel_width, panel_height = num_keys * cell, num_queries * cell
    gap = 0.15
    left = _AXIS_TITLE_INCHES + 0.1 + _label_inches(target_tokens, fontsize, labelled)
    left += 0.3 if row_names else 0
    bottom = _AXIS_TITLE_INCHES + 0.1 + _label_inches(source_tokens, fontsize, labelled)
    top = 0.1 + (0.4 if title else 0) + (0.25 if column_names else 0)
    right = 1.15  # the colour bar, its numbers and its label
    grid_height = num_rows * panel_height + (num_rows - 1) * gap
    width = left + num_columns * panel_width + (num_columns - 1) * gap + right
    # Tall enough for the colour bar's label and the y axis title along their axes.
    colorbar_height = max(min(grid_height, 6.0), _text_inches(COLORBAR_LABEL, 9) + 0.1)
    query_title = _text_inches(axis_labels[1], _TITLE_POINTS) + 0.2
    height = top + max(grid_height + bottom, colorbar_height + 0.3, query_title - top)
    fig = Figure(figsize=(width, height))

    def box(x, y, w, h):  # inches from the top left corner -> figure fraction
        return (x / width, 1 - (y + h) / height, w / width, h / height)

    images = []
    for row_index, row in enumerate(grid):
        below = grid[row_index + 1] if row_index + 1 < num_rows else []
        for column_index, weights in enumerate(row):
            x = left + column_index * (panel_width + gap)
            y = top + row_index * (panel_height + gap)
            ax = fig.add_axes(box(x, y, panel_width, panel_height))
            images.append(
                _draw_heatmap(
                    ax,
                    weights,
                    source_tokens,
                    target_tokens,
                    cmap=cmap,
                    vmax=vmax,
                    fontsize=fontsize,
                    show_x_labels=column_index >= len(below),
                    show_y_labels=column_index == 0,
                )
            )
            if row_index == 0 and column_names:
                ax.set_title(column_names[column_index], fontsize=max(fontsize, 8))
            if column_index == 0 and row_names:
                ax.set_ylabel(row_names[row_index], fontsize=max(fontsize, 8))
    grid_width = num_columns * panel_width + (num_columns - 1) * gap
    colorbar_box = box(width - right + 0.15, top, 0.15, colorbar_height)
    _add_titles(fig, images[0], colorbar_box, axis_labels, (left + grid_width / 2) / width)
    if title:
        fig.suptitle(title, y=1 - 0.1 / height, va="top")
    return fig, images


def _checked_tokens(source_tokens, target_tokens, named_weights):
    """The token lists as lists of strings, checked against every `(name, weights)`."""
    source_tokens = to_tokens("source_tokens", source_tokens)
    target_tokens = to_tokens("target_tokens", target_tokens)
    for name, weights in named_weights:
        check_tokens(name, weights.shape, -2, target_tokens, "target_tokens", "query (row)")
        check_tokens(name, weights.shape, -1, source_tokens, "source_tokens", "key (column)")
    return source_tokens, target_tokens


def _vmax(vmax, *arrays):
    """`vmax`, or with `vmax=None` the largest weight of `arrays` (1 when all are 0)."""
    if vmax is not None:
        return float(vmax)
    largest = max(float(np.max(array, initial=0.0)) for array in arrays)
    return largest if largest > 0 else 1.0


def head_names(num_heads):
    """Column titles: heads counted from 1, as a reader counts them."""
    return [f"head {head + 1}" for head in range(num_heads)]


def plot_attention(
    weights,
    source_tokens=None,
    target_tokens=None,
    *,
    title=None,
    source_label=SOURCE_LABEL,
    target_label=TARGET_LABEL,
    cmap="viridis",
    vmax=1.0,
    ax=None,
):
    """Plots one attention map as a labelled heatmap.

    Row `i` shows how target token `i` (the query) spreads its attention over the source
    tokens (the keys), on a colour scale from 0 to 1 (`vmax`). The figure grows with the number of
    tokens (at least 0.18 inch per row and column) so that every token keeps a readable
    label, however long the sentence.

    Args:
        weights: attention weights of shape `(T_q, T_k)` (numpy array or backend tensor),
            e.g. one example and one head of a layer's `(batch, heads, T_q, T_k)`.
        source_tokens: optional list of `T_k` strings, the column (key) labels.
        target_tokens: optional list of `T_q` strings, the row (query) labels. For
            self-attention pass the same list as `source_tokens`.
        title: optional title.
        source_label: the title of the key (column) axis.
        target_label: the title of the query (row) axis.
        cmap: a matplotlib colour map name.
        vmax: the weight drawn with the brightest colour. The default, 1, fixes the scale
            at 0-1 so that maps compare across plots and epochs (an untrained, even spread
            over 6 words is drawn dim, at 1/6); `None` stretches it to the largest weight,
            to see the shape of a flat map.
        ax: optional `matplotlib.axes.Axes` to draw into; by default a new figure sized
            for the tokens is made.

    Returns:
        The `matplotlib.figure.Figure`. Its first axes holds the heatmap
        (`fig.axes[0].images[0]`), the second the colour bar (labelled "attention
        weight"); the axis titles are the figure's `get_supxlabel()` and `get_supylabel()`
        (with `ax=`, that axes' `get_xlabel()` and `get_ylabel()`).

    Example:

    >>> import numpy as np
    >>> weights = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]])
    >>> fig = plot_attention(weights, ["el", "gato", "<end>"], ["the", "cat"])
    >>> fig.savefig("attention.png")  # doctest: +SKIP
    """
    weights = to_numpy("weights", weights)
    check_ndim("weights", weights, (2,), "(T_q, T_k); use plot_heads for several heads")
    source_tokens, target_tokens = _checked_tokens(
        source_tokens, target_tokens, [("weights", weights)]
    )
    vmax = _vmax(vmax, weights)
    if ax is None:
        fig, _ = _heatmap_grid(
            [[weights]], source_tokens, target_tokens, title=title,
            axis_labels=(source_label, target_label), cmap=cmap, vmax=vmax,
        )
        return fig
    cell = _cell_inches(*weights.shape, 6.0, _MIN_CELL_INCHES)
    image = _draw_heatmap(
        ax, weights, source_tokens, target_tokens, cmap=cmap, vmax=vmax,
        fontsize=_label_points(cell),
    )
    ax.figure.colorbar(image, ax=ax).set_label(COLORBAR_LABEL)
    ax.set_xlabel(source_label)
    ax.set_ylabel(target_label)
    if title:
        ax.set_title(title)
    return ax.figure


def plot_heads(
    weights,
    source_tokens=None,
    target_tokens=None,
    *,
    layer_names=None,
    title=None,
    source_label=SOURCE_LABEL,
    target_label=TARGET_LABEL,
    cmap="viridis",
    vmax=1.0,
):
    """Plots the attention of every head of every layer as a layer x head grid.

    Each panel is one head's `(T_q, T_k)` map, titled "head 1", "head 2", ...; all panels
    share one colour scale (0 to 1 by default), so heads can be compared at a glance: which ones attend
    to the previous token, which ones to the whole sentence. Token labels are drawn on the
    left column (targets) and the bottom row (sources).

    Args:
        weights: one of
            - an array `(heads, T_q, T_k)` (or `(T_q, T_k)`): one layer, one row of panels;
            - an array `(layers, heads, T_q, T_k)`: one row per layer;
            - a dict `{layer_name: array}` or a list of arrays, each `(heads, T_q, T_k)` or
              `(T_q, T_k)` (a single-head layer); the layers may have different numbers
              of heads.
        source_tokens: optional list of `T_k` strings (the keys).
        target_tokens: optional list of `T_q` strings (the queries).
        layer_names: optional row names when `weights` is an array or a list.
        title: optional figure title.
        source_label, target_label, cmap, vmax: as in `plot_attention` (by default a
            fixed 0-1 colour scale; `vmax=None`: up to the largest weight).

    Returns:
        The `matplotlib.figure.Figure`; panels are in `fig.axes` row by row (one
        `AxesImage` each), followed by the colour bar.

    Example:

    >>> import numpy as np
    >>> weights = np.random.default_rng(0).dirichlet(np.ones(5), size=(2, 4, 5))
    >>> fig = plot_heads(weights, list("abcde"), list("abcde"), layer_names=["enc 0", "enc 1"])
    >>> len(fig.axes)  # 2 layers x 4 heads, and the colour bar
    9
    """
    layers, names, labels = as_layers(weights, layer_names)
    source_tokens, target_tokens = _checked_tokens(
        source_tokens, target_tokens, zip(labels, layers, strict=True)
    )
    num_heads = max(layer.shape[0] for layer in layers)
    fig, _ = _heatmap_grid(
        [list(layer) for layer in layers], source_tokens, target_tokens, title=title,
        axis_labels=(source_label, target_label), cmap=cmap, vmax=_vmax(vmax, *layers),
        row_names=names, column_names=head_names(num_heads),
    )
    return fig


def animate_attention(
    frames,
    path,
    source_tokens=None,
    target_tokens=None,
    *,
    titles=None,
    fps=2,
    source_label=SOURCE_LABEL,
    target_label=TARGET_LABEL,
    cmap="viridis",
    vmax=1.0,
):
    """Writes a GIF of attention maps changing over time (e.g. one frame per epoch).

    All frames share one colour scale (0 to 1 by default), so a map that sharpens during
    training visibly brightens. The GIF is written with matplotlib's
    Pillow writer.

    Args:
        frames: a sequence of arrays of one shape, each `(T_q, T_k)` (one heatmap) or
            `(heads, T_q, T_k)` (a row of heads).
        path: where to write the GIF.
        source_tokens: optional list of `T_k` strings (the keys).
        target_tokens: optional list of `T_q` strings (the queries).
        titles: optional list of one title per frame (default: "frame 1", "frame 2", ...).
            Give each frame a distinct title: GIF encoders merge identical frames.
        fps: frames per second.
        source_label: the title of the key (column) axis.
        target_label: the title of the query (row) axis.
        cmap: a matplotlib colour map name.
        vmax: the weight drawn with the brightest colour (default 1); `None`: the largest
            weight of any frame.

    Returns:
        The `pathlib.Path` of the GIF.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> frames = [rng.dirichlet(np.ones(4), size=3) for _ in range(5)]
    >>> animate_attention(frames, "attention.gif", titles=[f"epoch {e}" for e in range(1, 6)])
    ... # doctest: +SKIP
    PosixPath('attention.gif')
    """
    frames = [to_numpy(f"frames[{index}]", frame) for index, frame in enumerate(frames)]
    if not frames:
        raise ValueError("`frames` is empty; give at least one attention map.")
    for index, frame in enumerate(frames):
        check_ndim(f"frames[{index}]", frame, (2, 3), "(T_q, T_k) or (heads, T_q, T_k)")
        if frame.shape != frames[0].shape:
            raise ValueError(
                f"`frames[{index}]` has shape {frame.shape} but `frames[0]` has shape "
                f"{frames[0].shape}; all frames must have one shape."
            )
    if titles is None:
        titles = [f"frame {index + 1}" for index in range(len(frames))]
    elif len(titles) != len(frames):
        raise ValueError(f"`titles` has {len(titles)} entries but there are {len(frames)} frames.")
    source_tokens, target_tokens = _checked_tokens(
        source_tokens, target_tokens, [("frames[0]", frames[0])]
    )

    heads = [frame[None] if frame.ndim == 2 else frame for frame in frames]
    fig, images = _heatmap_grid(
        [list(heads[0])], source_tokens, target_tokens, title=titles[0],
        axis_labels=(source_label, target_label), cmap=cmap, vmax=_vmax(vmax, *frames),
        column_names=head_names(len(heads[0])) if frames[0].ndim == 3 else None,
    )

    def draw_frame(index):
        for image, head_weights in zip(images, heads[index], strict=True):
            image.set_data(head_weights)
        fig.suptitle(titles[index])
        return images

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    movie = animation.FuncAnimation(fig, draw_frame, frames=len(frames), blit=False)
    movie.save(path, writer=animation.PillowWriter(fps=fps))
    return path
