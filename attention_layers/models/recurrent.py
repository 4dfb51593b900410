"""A `keras.layers.Bidirectional` that several models can build while one file loads.

`Bidirectional(layer)` makes its forward and backward layers by serializing `layer` and
deserializing the config. Inside `keras.saving.load_model` that round trip runs in Keras'
object-sharing scope, which recognizes an object it has serialized before by `id(object)`
and hands back the same deserialized layer for it. The wrapped `layer` is a temporary: once
it is garbage collected, Python may give its id to the next model's temporary, and that
model's wrapper then receives the earlier model's *backward* layer for both directions.
Loading an ensemble of BiGRU classifiers in the process that trained it failed this way
("Forward layer and backward layer should have different `go_backwards` value"); with
three or more members it could instead share one GRU between two members without an error.

Keeping `layer` alive as long as the wrapper keeps its id unique, so no two wrappers of one
load can be confused. The wrapper, its weights and its file format are Keras' own.
"""

import keras


def bidirectional(layer, **kwargs):
    """`keras.layers.Bidirectional(layer, **kwargs)` that holds on to `layer`.

    Args:
        layer: the recurrent layer to run in both directions (for example
            `keras.layers.GRU(64, return_sequences=True)`).
        **kwargs: `keras.layers.Bidirectional`'s other arguments (`merge_mode`, `name`, ...).

    Returns:
        The `keras.layers.Bidirectional` wrapper.

    Example:

    >>> encoder = bidirectional(keras.layers.GRU(4, return_sequences=True), name="encoder")
    >>> encoder.forward_layer.go_backwards, encoder.backward_layer.go_backwards
    (False, True)
    """
    wrapper = keras.layers.Bidirectional(layer, **kwargs)
    # A function is not tracked as a sublayer, so nothing is saved for it: the reference
    # only keeps `layer`, and with it its id, alive (see the module docstring).
    wrapper._keeps_wrapped_layer_alive = lambda: layer
    return wrapper
