"""A classifier's confusion matrix as an annotated heatmap: rows the true classes, columns
the predicted ones, each cell its count (scikit-learn's `ConfusionMatrixDisplay` layout)."""

import numpy as np
from matplotlib.figure import Figure

from attention_layers.visualization._common import escape_label

# Each class gets at least this many inches, so that a count and a name stay readable.
_CELL_INCHES = 0.55


def plot_confusion_matrix(counts, class_names, *, title="Confusion matrix"):
    """Draws a confusion matrix.

    1. `counts`: `(N, N)`, row `i` the examples of class `i`, column `j` those predicted
       as class `j` (the diagonal is right);
    2. each row is shaded by its share of the row's examples (its recall), so that a small
       class's errors show as clearly as a large one's;
    3. each cell is written with its count.

    Args:
        counts: `(N, N)` integer counts (a list of lists or an array).
        class_names: the `N` class names, in index order.
        title: the figure's title.

    Returns:
        A `matplotlib.figure.Figure` (nothing is shown; save it with `savefig`).

    Example:

    >>> figure = plot_confusion_matrix([[5, 1], [0, 4]], ["ham", "spam"])
    >>> figure.savefig("confusion.png")  # doctest: +SKIP
    """
    counts = np.asarray(counts, dtype="int64")
    size = len(class_names)
    if counts.shape != (size, size):
        raise ValueError(f"`counts` must be ({size}, {size}) for {size} class names; received "
                         f"shape {counts.shape}.")
    rows = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)  # (N, N)
    side = max(3.0, _CELL_INCHES * size + 1.5)
    figure = Figure(figsize=(side + 1.0, side))
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of the true class")
    names = [escape_label(name) for name in class_names]
    axes.set_xticks(range(size), names, rotation=45, ha="right")
    axes.set_yticks(range(size), names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title)
    for row in range(size):
        for column in range(size):
            axes.text(column, row, str(counts[row, column]), ha="center", va="center",
                      color="white" if shares[row, column] > 0.5 else "black")
    figure.tight_layout()
    return figure
