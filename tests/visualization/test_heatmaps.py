"""Heatmaps, head grids and animations: what is drawn is the weights that were given."""

import itertools

import keras
import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from attention_layers.visualization import animate_attention, plot_attention, plot_heads
from tests.visualization import pixels


def _weights(num_queries, num_keys, seed=0, heads=None):
    shape = (num_queries,) if heads is None else (heads, num_queries)
    return np.random.default_rng(seed).dirichlet(np.full(num_keys, 0.5), size=shape)


def _tokens(prefix, count):
    return [f"{prefix}{index}" for index in range(count)]


def _render(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(np.float64) / 255.0, canvas


def _read_cells(fig, ax, shape, cmap="viridis"):
    """The weights (as fractions of the colour scale) read back from the rendered pixels.

    Samples the pixel at the centre of every cell and inverts the colour map.
    """
    pixels, canvas = _render(fig)
    height = pixels.shape[0]
    lookup = colormaps[cmap](np.linspace(0, 1, 256))[:, :3]
    box = ax.get_window_extent(canvas.get_renderer())
    num_queries, num_keys = shape
    values = np.empty(shape)
    for row in range(num_queries):
        for column in range(num_keys):
            x = box.x0 + (column + 0.5) * box.width / num_keys
            y = box.y1 - (row + 0.5) * box.height / num_queries  # display y points up
            colour = pixels[int(height - y), int(x)]
            values[row, column] = np.argmin(((lookup - colour) ** 2).sum(axis=1)) / 255
    return values


def test_plot_attention_pixels_show_the_weights():
    weights = _weights(5, 7)
    fig = plot_attention(weights, _tokens("s", 7), _tokens("t", 5))
    ax = fig.axes[0]
    read = _read_cells(fig, ax, weights.shape)
    np.testing.assert_allclose(read, weights, atol=0.01)  # the scale runs from 0 to 1
    # The brightest cell is where the largest weight is.
    assert np.unravel_index(read.argmax(), read.shape) == np.unravel_index(
        weights.argmax(), weights.shape
    )
    np.testing.assert_allclose(ax.images[0].get_array(), weights)


def test_an_even_untrained_map_is_drawn_dim_and_stretching_is_an_option():
    weights = np.full((3, 6), 1 / 6)
    fixed = plot_attention(weights)
    np.testing.assert_allclose(_read_cells(fixed, fixed.axes[0], weights.shape), 1 / 6, atol=0.01)
    assert fixed.axes[0].images[0].norm.vmax == 1.0
    stretched = plot_attention(weights, vmax=None)
    read = _read_cells(stretched, stretched.axes[0], weights.shape)
    np.testing.assert_allclose(read, 1.0, atol=0.01)  # the brightest colour
    peaked = _weights(4, 5)
    fig = plot_attention(peaked, vmax=None)
    assert fig.axes[0].images[0].norm.vmax == pytest.approx(peaked.max())


def test_plot_attention_titles_its_axes_and_colour_bar():
    fig = plot_attention(_weights(3, 4), list("abcd"), list("xyz"))
    assert fig.get_supxlabel() == "source words (keys)"
    assert fig.get_supylabel() == "output words (queries)"
    assert fig.axes[1].get_ylabel() == "attention weight"
    pixels, canvas = _render(fig)  # the axis titles sit inside the figure
    renderer = canvas.get_renderer()
    for text in (fig._supxlabel, fig._supylabel, fig.axes[1].yaxis.label):
        box = text.get_window_extent(renderer)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
    fig = plot_attention(_weights(3, 3), target_label="source words (queries)")
    assert fig.get_supylabel() == "source words (queries)"

    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    plot_attention(_weights(2, 3), ax=ax)
    assert [ax.get_xlabel(), ax.get_ylabel()] == ["source words (keys)", "output words (queries)"]
    assert ax.figure.axes[1].get_ylabel() == "attention weight"


def test_plot_attention_labels_rows_with_targets_and_columns_with_sources():
    source, target = ["el", "gato", "$5", "<end>"], ["the", "cat", "<end>"]
    fig = plot_attention(_weights(3, 4), source, target, title="cross")
    _render(fig)
    ax = fig.axes[0]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["el", "gato", r"\$5", "<end>"]
    assert [label.get_text() for label in ax.get_yticklabels()] == target
    assert fig.get_suptitle() == "cross"


def test_plot_attention_stays_readable_with_many_tokens():
    source, target = _tokens("palabra", 45), _tokens("word", 42)
    fig = plot_attention(_weights(42, 45), source, target)
    _, canvas = _render(fig)
    renderer = canvas.get_renderer()
    figure_box = fig.bbox
    ax = fig.axes[0]
    for labels, tokens, axis in (
        (ax.get_xticklabels(), source, 0),
        (ax.get_yticklabels(), target, 1),
    ):
        assert [label.get_text() for label in labels] == tokens  # no label skipped
        assert min(label.get_fontsize() for label in labels) >= 8
        boxes = [label.get_window_extent(renderer) for label in labels]
        for box in boxes:  # nothing cut off at the figure's edge
            assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1
            assert figure_box.y0 <= box.y0 and box.y1 <= figure_box.y1
        # Neighbouring labels do not overlap (x labels side by side, y labels stacked).
        spans = sorted(tuple(box.intervalx if axis == 0 else box.intervaly) for box in boxes)
        assert all(end <= start + 0.5 for (_, end), (start, _) in itertools.pairwise(spans))


def test_plot_attention_accepts_backend_tensors():
    weights = _weights(3, 4)
    fig = plot_attention(keras.ops.convert_to_tensor(weights))
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), weights, rtol=1e-6)


def test_plot_attention_draws_into_a_given_axes():
    from matplotlib.figure import Figure

    figure = Figure()
    ax = figure.add_subplot()
    assert plot_attention(_weights(2, 3), ax=ax, title="mine") is figure
    assert ax.get_title() == "mine"


@pytest.mark.parametrize(
    ("shape", "source", "target", "message"),
    [
        ((5, 7), 7, 6, r"`weights` has shape \(5, 7\) but 6 target_tokens were given"),
        ((5, 7), 8, 5, r"`weights` has shape \(5, 7\) but 8 source_tokens were given"),
        ((2, 5, 7), None, None, r"`weights` must have shape \(T_q, T_k\); use plot_heads"),
    ],
)
def test_plot_attention_rejects_disagreeing_shapes(shape, source, target, message):
    weights = np.ones(shape)
    with pytest.raises(ValueError, match=message):
        plot_attention(
            weights,
            None if source is None else _tokens("s", source),
            None if target is None else _tokens("t", target),
        )


def test_plot_attention_rejects_a_sentence_as_tokens():
    with pytest.raises(ValueError, match="`source_tokens` must be a list of tokens"):
        plot_attention(np.ones((1, 3)), "el gato negro")


def test_plot_heads_lays_out_layers_by_heads():
    weights = _weights(4, 6, heads=3)[None].repeat(2, axis=0)  # (layers, heads, T_q, T_k)
    weights[1] = _weights(4, 6, seed=1, heads=3)
    fig = plot_heads(weights, _tokens("s", 6), _tokens("t", 4), layer_names=["enc 0", "enc 1"])
    panels, colorbar = fig.axes[:-1], fig.axes[-1]
    assert len(panels) == 6 and not colorbar.images
    for index, ax in enumerate(panels):
        layer, head = divmod(index, 3)
        np.testing.assert_allclose(ax.images[0].get_array(), weights[layer, head])
        # Heads go left to right, layers top to bottom.
        box = ax.get_position()
        if head:
            assert box.x0 > panels[index - 1].get_position().x1
        if layer:
            assert box.y1 < panels[index - 3].get_position().y0
    assert [ax.get_title() for ax in panels[:3]] == ["head 1", "head 2", "head 3"]
    assert [panels[0].get_ylabel(), panels[3].get_ylabel()] == ["enc 0", "enc 1"]
    # One colour scale for the whole grid.
    assert [ax.images[0].norm.vmax for ax in panels] == [1.0] * 6
    assert fig.get_supxlabel() == "source words (keys)" and colorbar.get_ylabel()
    stretched = plot_heads(weights, vmax=None)
    vmaxes = [ax.images[0].norm.vmax for ax in stretched.axes[:-1]]
    assert vmaxes == [pytest.approx(weights.max())] * 6
    # Tokens label the left column and the bottom row only.
    assert [label.get_text() for label in panels[3].get_yticklabels()] == _tokens("t", 4)
    assert not panels[4].get_yticklabels()
    assert [label.get_text() for label in panels[5].get_xticklabels()] == _tokens("s", 6)
    assert not panels[2].get_xticklabels()


def test_plot_heads_takes_a_dict_of_layers_with_different_head_counts():
    weights = {"self": _weights(3, 3, heads=2), "pooling": _weights(3, 3, seed=2)}
    fig = plot_heads(weights, list("abc"), list("abc"))
    panels = fig.axes[:-1]
    assert len(panels) == 3
    assert [panels[0].get_ylabel(), panels[2].get_ylabel()] == ["self", "pooling"]
    np.testing.assert_allclose(panels[2].images[0].get_array(), weights["pooling"])


def test_plot_heads_names_the_layer_whose_shape_disagrees():
    weights = {"self": _weights(3, 3, heads=2), "cross": _weights(2, 3, heads=2)}
    with pytest.raises(ValueError, match=r"`weights\['cross'\]` has shape \(2, 2, 3\) but 3"):
        plot_heads(weights, list("abc"), list("abc"))
    with pytest.raises(ValueError, match="`layer_names` has 1 names but `weights` holds 2"):
        plot_heads(np.ones((2, 2, 3, 3)), layer_names=["only one"])


def test_animation_has_one_frame_per_epoch(tmp_path):
    frames = [_weights(3, 4, seed=epoch) for epoch in range(4)]
    path = animate_attention(
        frames,
        tmp_path / "attention.gif",
        list("abcd"),
        list("xyz"),
        titles=[f"epoch {epoch}" for epoch in range(1, 5)],
    )
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 4
        pictures = []
        for index in range(gif.n_frames):
            gif.seek(index)
            pictures.append(pixels.picture(gif))
    # Each frame's cells, read from the GIF's pixels, show that frame's weights. The cells'
    # places come from a heatmap of the same tokens (its colours are not used).
    grid = plot_attention(np.zeros((3, 4)), list("abcd"), list("xyz"), title="epoch 1")
    box = grid.axes[0].get_window_extent(pixels.layout(grid))
    for frame, picture in zip(frames, pictures, strict=True):
        assert picture.shape[:2] == (int(grid.bbox.height), int(grid.bbox.width))
        # 0.02: a GIF holds at most 256 colours, so a cell's colour may be a neighbour's.
        np.testing.assert_allclose(pixels.cell_values(picture, box, (3, 4)), frame, atol=0.02)


def test_animation_of_heads_and_its_errors(tmp_path):
    frames = [_weights(3, 4, seed=epoch, heads=2) for epoch in range(3)]
    with Image.open(animate_attention(frames, tmp_path / "heads.gif")) as gif:
        assert gif.n_frames == 3
    with pytest.raises(ValueError, match=r"`frames\[1\]` has shape \(2, 4\)"):
        animate_attention([np.ones((3, 4)), np.ones((2, 4))], tmp_path / "bad.gif")
    with pytest.raises(ValueError, match="`titles` has 1 entries but there are 2 frames"):
        animate_attention([np.ones((3, 4))] * 2, tmp_path / "bad.gif", titles=["one"])
