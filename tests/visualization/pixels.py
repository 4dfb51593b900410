"""Reading drawn pictures back: the colours of heatmap cells and token boxes, taken from
the pixels, for tests that check a plot against weights they colour themselves (not
against another call of the function that drew it)."""

import io

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image


def picture(data):
    """RGB pixels `(height, width, 3)` in [0, 1] of a PNG or GIF frame (path, bytes or
    an open `PIL.Image`)."""
    if isinstance(data, Image.Image):
        return np.asarray(data.convert("RGB"), dtype=np.float64) / 255.0
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def layout(fig, dpi=100):
    """A renderer of `fig` drawn at `dpi`, for the pixel boxes of its parts (the layout
    of a picture saved with `savefig(dpi=dpi)`)."""
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def cell_values(pixels, box, shape, cmap="viridis", vmax=1.0):
    """The weights that the cells of a heatmap drawn in display box `box` (y up) show:
    the pixel at each cell's centre, matched to the nearest of 1024 colours of `cmap`
    scaled to `[0, vmax]`."""
    height = pixels.shape[0]
    lookup = colormaps[cmap](np.linspace(0, 1, 1024))[:, :3]
    rows, columns = shape
    values = np.empty(shape)
    for row in range(rows):
        for column in range(columns):
            x = box.x0 + (column + 0.5) * box.width / columns
            y = box.y1 - (row + 0.5) * box.height / rows
            colour = pixels[int(height - y), int(x)]
            values[row, column] = np.argmin(((lookup - colour) ** 2).sum(axis=1)) / 1023 * vmax
    return values


def box_colour(pixels, box):
    """The colour at the left edge of display box `box` (2 pixels in, halfway up): a
    token's background, clear of its letters."""
    return pixels[int(pixels.shape[0] - (box.y0 + box.y1) / 2), int(box.x0) + 2]
