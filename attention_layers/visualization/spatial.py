"""Spatial attention (Xu et al. 2015, "Show, Attend and Tell", Fig. 3) over its image."""

import math

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from attention_layers.visualization._common import escape_label, to_numpy, to_tokens

_PANEL_INCHES = 3.0
_MAX_COLUMNS = 5


def _as_rgb(image):
    """`image` as a float array in [0, 1], `(H, W)` or `(H, W, 3|4)`."""
    array = to_numpy("image", image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(
            f"`image` must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); "
            f"received an array of shape {array.shape}."
        )
    low, high = float(array.min()), float(array.max())
    if low >= 0.0 and high <= 1.0:
        return array
    if low >= 0.0 and high <= 255.0:
        return array / 255.0
    # Normalised inputs (e.g. ImageNet mean/std): stretch to [0, 1] for display.
    return (array - low) / max(high - low, 1e-12)


def _as_maps(weights, grid_shape):
    """`weights` as `(maps, h, w)`: one `(h, w)` map per query (e.g. per caption word)."""
    weights = to_numpy("weights", weights)
    if weights.ndim in (1, 2) and (grid_shape is not None or weights.ndim == 1):
        # Flat regions, (N,) or (T, N), as attention over a flattened grid returns them.
        num_regions = weights.shape[-1]
        if grid_shape is None:
            side = math.isqrt(num_regions)
            if side * side != num_regions:
                raise ValueError(
                    f"`weights` has shape {weights.shape}: {num_regions} regions do not form "
                    "a square grid; pass `grid_shape=(H, W)`."
                )
            grid_shape = (side, side)
        if math.prod(grid_shape) != num_regions:
            raise ValueError(
                f"`weights` has shape {weights.shape} but `grid_shape={tuple(grid_shape)}` "
                f"holds {math.prod(grid_shape)} regions, not {num_regions}."
            )
        weights = weights.reshape((-1, *grid_shape))
    elif weights.ndim == 2:
        weights = weights[None]
    if weights.ndim != 3:
        raise ValueError(
            "`weights` must have shape (H, W), (T, H, W), or (N,) / (T, N) with "
            f"`grid_shape`; received an array of shape {weights.shape}."
        )
    return weights


def upsample(weights_map, height, width):
    """Bilinear resize of one `(h, w)` weight map to `(height, width)` pixels."""
    resized = Image.fromarray(np.ascontiguousarray(weights_map, dtype=np.float32)).resize(
        (width, height), resample=Image.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)


def plot_spatial_attention(
    image,
    weights,
    *,
    tokens=None,
    grid_shape=None,
    title=None,
    alpha=0.6,
    cmap="inferno",
    vmax=None,
    ax=None,
):
    """Overlays spatial attention weights on the image they attend over.

    A `SpatialAttention` layer attends over an image's grid of regions (e.g. the 7 x 7 or
    14 x 14 feature map of a CNN). Each `(H, W)` map is upsampled (bilinear) to the image's
    size and drawn over it, so the bright area is where the model looked. Several maps,
    e.g. one per word of a generated caption, are drawn as a grid of panels, each titled
    with its token.

    Args:
        image: the image, `(height, width)`, `(height, width, 1)`, `(height, width, 3)` or
            `(height, width, 4)`; integers in [0, 255] or floats (floats outside [0, 1] are
            rescaled for display).
        weights: `(H, W)` (one map), `(T, H, W)` (one map per query), or flat regions
            `(N,)` / `(T, N)` as attention over a flattened grid returns them, reshaped
            with `grid_shape` (default: a square grid).
        tokens: optional list of `T` strings, one title per map (the caption's words).
        grid_shape: `(H, W)` for flat `weights`.
        title: optional figure title.
        alpha: opacity of the attention overlay.
        cmap: a matplotlib colour map name for the overlay.
        vmax: the weight drawn with the brightest colour (default: the largest weight).
        ax: optional `matplotlib.axes.Axes` to draw into (only for a single map).

    Returns:
        The `matplotlib.figure.Figure`. Each panel's axes holds two images: the picture,
        then the upsampled overlay (`ax.images[1]`, of the picture's height and width).

    Example:

    >>> import numpy as np
    >>> image = np.zeros((64, 64, 3), dtype="uint8")
    >>> weights = np.zeros((4, 4)); weights[1, 2] = 1.0
    >>> fig = plot_spatial_attention(image, weights)
    >>> fig.axes[0].images[1].get_array().shape
    (64, 64)
    """
    picture = _as_rgb(image)
    maps = _as_maps(weights, grid_shape)
    tokens = to_tokens("tokens", tokens)
    if tokens is not None and len(tokens) != len(maps):
        raise ValueError(
            f"`weights` holds {len(maps)} maps of shape {maps.shape[1:]} but {len(tokens)} "
            "tokens were given; give one token per map (flat (T, N) weights need `grid_shape`)."
        )
    vmax = (float(maps.max(initial=0.0)) or 1.0) if vmax is None else vmax
    height, width = picture.shape[:2]

    if ax is not None:
        if len(maps) != 1:
            raise ValueError(
                f"`ax` takes a single map but `weights` holds {len(maps)}; leave `ax` unset."
            )
        fig, axes = ax.figure, [ax]
    else:
        columns = min(len(maps), _MAX_COLUMNS)
        rows = math.ceil(len(maps) / columns)
        aspect = height / width
        fig = Figure(
            figsize=(
                columns * _PANEL_INCHES,
                rows * _PANEL_INCHES * aspect + (0.4 if title else 0.1),
            ),
            layout="constrained",
        )
        axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for index, panel in enumerate(axes):
        panel.set_axis_off()
        if index >= len(maps):
            continue
        panel.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0.0, vmax=1.0)
        panel.imshow(
            upsample(maps[index], height, width),
            cmap=cmap,
            alpha=alpha,
            vmin=0.0,
            vmax=vmax,
            interpolation="nearest",
        )
        if tokens is not None:
            panel.set_title(escape_label(tokens[index]), fontsize=12)
    if title:
        fig.suptitle(title)
    return fig
