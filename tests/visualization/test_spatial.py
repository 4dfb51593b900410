"""Spatial attention: the grid of weights, upsampled, lies over the right part of the image."""

import numpy as np
import pytest

from attention_layers.visualization import plot_spatial_attention


def _peak(grid_shape, row, column):
    weights = np.full(grid_shape, 0.01)
    weights[row, column] = 1.0
    return weights / weights.sum()


def test_overlay_is_upsampled_over_the_attended_region():
    image = np.random.default_rng(0).integers(0, 255, size=(64, 96, 3), dtype=np.uint8)
    fig = plot_spatial_attention(image, _peak((4, 6), 1, 4))
    picture, overlay = fig.axes[0].images
    np.testing.assert_allclose(picture.get_array(), image / 255.0)
    overlay = np.asarray(overlay.get_array())
    assert overlay.shape == (64, 96)
    # Region (1, 4) of a 4 x 6 grid covers rows 16-31 and columns 64-79 of the image.
    row, column = np.unravel_index(overlay.argmax(), overlay.shape)
    assert 16 <= row < 32 and 64 <= column < 80
    # Bilinear, not blocky: the overlay fades away from the peak.
    assert overlay[24, 72] > overlay[24, 60] > overlay[24, 40]


def test_one_panel_per_word_with_flat_regions():
    image = np.zeros((32, 32))  # greyscale
    maps = np.stack([_peak((4, 4), 0, 0), _peak((4, 4), 3, 3)]).reshape(2, 16)
    fig = plot_spatial_attention(
        image, maps, tokens=["a", "bird"], grid_shape=(4, 4), title="caption"
    )
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["a", "bird"]
    peaks = [np.unravel_index(np.argmax(ax.images[1].get_array()), (32, 32)) for ax in panels]
    assert peaks[0][0] < 8 and peaks[0][1] < 8
    assert peaks[1][0] >= 24 and peaks[1][1] >= 24


def test_spatial_attention_errors():
    image = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match="24 regions do not form a square grid"):
        plot_spatial_attention(image, np.ones(24) / 24)
    with pytest.raises(ValueError, match=r"`grid_shape=\(5, 5\)` holds 25 regions, not 24"):
        plot_spatial_attention(image, np.ones((2, 24)), grid_shape=(5, 5))
    with pytest.raises(ValueError, match=r"`weights` holds 3 maps of shape \(2, 2\) but 2 tokens"):
        plot_spatial_attention(image, np.ones((3, 2, 2)), tokens=["a", "b"])
    with pytest.raises(ValueError, match=r"`image` must have shape"):
        plot_spatial_attention(np.zeros((8, 8, 2)), np.ones((2, 2)))
