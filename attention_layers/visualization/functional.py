"""The attention-returning view of a functional Keras model, for plots and callbacks."""

import inspect

import keras


def _returns_attention_scores(layer):
    try:
        parameters = list(inspect.signature(layer.call).parameters)
    except (TypeError, ValueError):
        return False
    return parameters[:2] == ["query", "value"] and "return_attention_scores" in parameters


class _AttentionWeights(keras.layers.Layer):
    """Calls `layer` (shared, with its weights) asking for attention; returns the weights.

    A layer of its own because Keras checks a functional graph by the outputs of an
    operation's first call: a second call of the attention layer itself, returning
    `(context, weights)`, would leave the weights "not connected". Its signature names
    the masks, so Keras fills them from the inputs as it does for the wrapped layer.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(name=f"{layer.name}_weights", **kwargs)
        self.layer = layer
        # It reads the masks (by name, in `call`); the weights carry none.
        self.supports_masking = True

    def compute_mask(self, *args, **kwargs):
        return None

    def call(
        self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, **kwargs
    ):
        masks = {"query_mask": query_mask, "value_mask": value_mask, "key_mask": key_mask}
        masks = {name: mask for name, mask in masks.items() if mask is not None}
        kwargs = {**kwargs, **masks, "return_attention_scores": True}
        _, weights = self.layer(query, value, key, **kwargs)
        return weights


def attention_model(model):
    """A model with `model`'s inputs whose outputs are the attention weights of its layers.

    Every layer of `model` whose `call` takes `(query, value, key)` and
    `return_attention_scores` (ours, and `keras.layers.MultiHeadAttention`) is called again
    on the same symbolic inputs with `return_attention_scores=True`. The view shares the layers, hence
    the weights: as `model` trains, the view's attention changes with it. It is how
    `AttentionPlotCallback` plots a user's functional model, which has no
    `get_attention_weights` method.

    Args:
        model: a functional `keras.Model` (built from `keras.Input`), or a built
            `keras.Sequential`. A subclassed model has no graph to read: give it a
            `get_attention_weights(inputs)` method instead, as our models have.

    Returns:
        A `keras.Model` mapping `model`'s inputs to a dict `{layer name: weights}`, each
        `(batch, T_q, T_k)` or `(batch, heads, T_q, T_k)`; a layer called several times
        gives `"{name}/call_{i}"` entries (counted from 0).

    Raises:
        ValueError: `model` is not functional, or none of its layers returns attention.

    Example:

    ```python
    view = attention_model(model)
    weights = view(example_inputs)  # {"multi_head_attention": (batch, heads, T, T)}
    ```
    """
    try:
        inputs = model.inputs
    except AttributeError:
        inputs = None
    if not inputs:
        raise ValueError(
            f"`model` ({type(model).__name__} {model.name!r}) is not a functional model, so "
            "its graph cannot be read; build it from `keras.Input`, or give it a "
            "`get_attention_weights(inputs)` method."
        )
    outputs = {}
    for layer in model.layers:
        if not _returns_attention_scores(layer):
            continue
        tap = _AttentionWeights(layer)
        # Every call of the layer in the graph (a node) is made again through the tap; a
        # copy of the node list, since each call adds a node to it.
        nodes = list(layer._inbound_nodes)
        for index, node in enumerate(nodes):
            name = layer.name if len(nodes) == 1 else f"{layer.name}/call_{index}"
            outputs[name] = tap(*node.arguments.args, **node.arguments.kwargs)
    if not outputs:
        raise ValueError(
            f"`model` {model.name!r} has no layer that returns attention weights (a layer "
            "whose call takes `return_attention_scores`, such as the attention layers of "
            "`attention_layers` or `keras.layers.MultiHeadAttention`)."
        )
    return keras.Model(inputs, outputs, name=f"{model.name}_attention")
