"""A sentence with each token's background coloured by its attention weight."""

from matplotlib import colormaps
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from attention_layers.visualization._common import check_tokens, to_numpy, to_tokens

_PAD_POINTS = 2.0  # space inside a token's box
_GAP_POINTS = 4.0  # space between two boxes
_MARGIN_INCHES = 0.2
_COLORBAR_INCHES = 0.55


def _text_widths_points(tokens, fontsize):
    """The width of each token in points, measured by the Agg renderer (72 dpi)."""
    renderer = RendererAgg(1, 1, 72)
    prop = FontProperties(size=fontsize)
    return [
        renderer.get_text_width_height_descent(token, prop, ismath=False)[0] for token in tokens
    ]


def _wrap(widths, line_points):
    """Greedy line breaking: the (line, x) of each box, boxes `width + 2 * pad` wide."""
    positions, line, x = [], 0, 0.0
    for width in widths:
        box = width + 2 * _PAD_POINTS
        if x > 0 and x + box > line_points:
            line, x = line + 1, 0.0
        positions.append((line, x))
        x += box + _GAP_POINTS
    return positions


def plot_token_importance(
    tokens,
    weights,
    *,
    title=None,
    cmap="Reds",
    vmax=None,
    width=8.0,
    fontsize=12,
):
    """Plots a sentence with each token highlighted by its attention weight.

    The view for an attention-pooling classifier: the pooling query attends once over the
    tokens, and the darker a token's background, the more it counts towards the
    prediction. Tokens are laid out left to right and wrapped into lines `width` inches
    wide, like text; a colour bar gives the scale (0 to the largest weight).

    Args:
        tokens: list of `T` strings.
        weights: the weights of the tokens, shape `(T,)` or `(1, T)` (a single query, as a
            classifier's `(batch, 1, T)` weights give for one example).
        title: optional title (e.g. the predicted label and its probability).
        cmap: a matplotlib colour map name; its low end should be near white.
        vmax: the weight drawn with the darkest colour (default: the largest weight).
        width: figure width in inches; the height follows from the number of lines.
        fontsize: token font size in points.

    Returns:
        The `matplotlib.figure.Figure`. `fig.axes[0].texts` holds one `Text` per token, in
        order, whose box (`text.get_bbox_patch()`) carries the token's colour.

    Example:

    >>> fig = plot_token_importance(
    ...     ["a", "truly", "wonderful", "film"], [0.05, 0.15, 0.7, 0.1], title="positive"
    ... )
    >>> [text.get_text() for text in fig.axes[0].texts]
    ['a', 'truly', 'wonderful', 'film']
    """
    tokens = to_tokens("tokens", tokens)
    if tokens is None:
        raise ValueError("`tokens` is required; received None.")
    weights = to_numpy("weights", weights)
    if weights.ndim == 2 and weights.shape[0] == 1:
        weights = weights[0]
    if weights.ndim != 1:
        raise ValueError(
            f"`weights` must have shape (T,) or (1, T), one weight per token; "
            f"received an array of shape {weights.shape}."
        )
    check_tokens("weights", weights.shape, 0, tokens, "tokens", "weight")

    vmax = (float(weights.max(initial=0.0)) or 1.0) if vmax is None else vmax
    norm = Normalize(vmin=0.0, vmax=vmax)
    colour_map = colormaps[cmap]
    line_points = (width - 2 * _MARGIN_INCHES) * 72
    positions = _wrap(_text_widths_points(tokens, fontsize), line_points)
    line_height = fontsize * 1.9
    num_lines = positions[-1][0] + 1 if positions else 1
    text_inches = num_lines * line_height / 72
    height = text_inches + 2 * _MARGIN_INCHES + _COLORBAR_INCHES + (0.35 if title else 0.0)

    fig = Figure(figsize=(width, height))
    # An axes over the text area whose data units are points from its top left corner.
    bottom = (_MARGIN_INCHES + _COLORBAR_INCHES) / height
    ax = fig.add_axes(
        (_MARGIN_INCHES / width, bottom, 1 - 2 * _MARGIN_INCHES / width, text_inches / height)
    )
    ax.set_xlim(0, line_points)
    ax.set_ylim(num_lines * line_height, 0)
    ax.set_axis_off()
    for token, weight, (line, x) in zip(tokens, weights, positions, strict=True):
        background = colour_map(norm(weight))
        red, green, blue, _ = background
        # Dark backgrounds get white text (relative luminance, ITU-R BT.709).
        luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
        ax.text(
            x + _PAD_POINTS,
            (line + 0.5) * line_height,
            token,
            fontsize=fontsize,
            va="center",
            ha="left",
            color="white" if luminance < 0.5 else "black",
            parse_math=False,
            bbox={
                "boxstyle": f"square,pad={_PAD_POINTS / fontsize}",
                "facecolor": background,
                "edgecolor": "none",
            },
        )
    colorbar_ax = fig.add_axes((0.3, _MARGIN_INCHES / height, 0.4, 0.12 / height))
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=colour_map), cax=colorbar_ax, orientation="horizontal"
    )
    colorbar_ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title, y=1 - 0.08 / height, va="top")
    return fig
