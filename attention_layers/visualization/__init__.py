"""Seeing attention: heatmaps, head grids, token importance, spatial overlays, animations,
an interactive HTML view, a callback that draws them during `fit`, and `attention_model`,
which reads the attention out of a functional Keras model.

The plotting functions build `matplotlib.figure.Figure` objects directly (no pyplot, nothing
is shown) and accept numpy arrays or backend tensors. Rows are queries (target tokens),
columns are keys (source tokens).
"""

from attention_layers.visualization.callback import AttentionPlotCallback
from attention_layers.visualization.confusion import plot_confusion_matrix
from attention_layers.visualization.functional import attention_model
from attention_layers.visualization.heatmaps import animate_attention, plot_attention, plot_heads
from attention_layers.visualization.html_view import (
    to_html,
    token_importance_html,
    views_to_html,
)
from attention_layers.visualization.spatial import plot_spatial_attention
from attention_layers.visualization.token_importance import plot_token_importance

__all__ = [
    "AttentionPlotCallback",
    "animate_attention",
    "attention_model",
    "plot_attention",
    "plot_confusion_matrix",
    "plot_heads",
    "plot_spatial_attention",
    "plot_token_importance",
    "to_html",
    "token_importance_html",
    "views_to_html",
]
