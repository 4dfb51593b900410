"""The classifier's view: each token's background is its attention weight."""

import io

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg

from attention_layers.visualization import plot_token_importance
from tests.visualization import pixels


def _luminance(rgba):
    red, green, blue = rgba[:3]
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_token_colours_follow_the_weights():
    tokens = ["a", "truly", "wonderful", "film", ",", "$5", "well", "spent"]
    weights = np.array([0.02, 0.1, 0.45, 0.08, 0.0, 0.05, 0.2, 0.1])
    fig = plot_token_importance(tokens, weights[None], title="positive (0.97)")
    texts = fig.axes[0].texts
    assert [text.get_text() for text in texts] == tokens  # in order, "$" kept literally
    colours = [text.get_bbox_patch().get_facecolor() for text in texts]
    assert colours[weights.argmax()] == pytest.approx(colormaps["Reds"](1.0))
    assert colours[weights.argmin()] == pytest.approx(colormaps["Reds"](0.0))
    # The heavier the weight, the darker the background.
    order = np.argsort([_luminance(colour) for colour in colours], kind="stable")
    assert list(weights[order]) == sorted(weights, reverse=True)
    assert fig.get_suptitle() == "positive (0.97)"
    # The drawn pixels: each token's background is Reds at its weight over the largest,
    # coloured here. 2/255: one step of 8-bit rounding either way.
    renderer = pixels.layout(fig)
    drawn = pixels.picture(_png(fig))
    for text, weight in zip(texts, weights, strict=True):
        box = text.get_bbox_patch().get_window_extent(renderer)
        expected = colormaps["Reds"](weight / weights.max())[:3]
        np.testing.assert_allclose(pixels.box_colour(drawn, box), expected, atol=2 / 255)


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def test_long_text_wraps_inside_the_figure():
    tokens = [f"token{index}" for index in range(60)]
    weights = np.random.default_rng(0).dirichlet(np.ones(60))
    fig = plot_token_importance(tokens, weights, width=6.0)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [text.get_bbox_patch().get_window_extent(renderer) for text in fig.axes[0].texts]
    lines = sorted({round(box.y0) for box in boxes}, reverse=True)
    assert len(lines) > 3
    for box in boxes:
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
    # Reading order: left to right within a line, then down.
    keys = [(-round(box.y0), box.x0) for box in boxes]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(4), r"`weights` has shape \(4,\) but 3 tokens were given"),
        (np.ones((2, 3)), r"`weights` must have shape \(T,\) or \(1, T\)"),
    ],
)
def test_token_importance_rejects_disagreeing_shapes(weights, message):
    with pytest.raises(ValueError, match=message):
        plot_token_importance(["a", "b", "c"], weights)
