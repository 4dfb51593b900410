"""One helper that puts any layer through the checks every Keras layer must pass.

`run_layer_test` builds and calls the layer, round-trips its config, saves and loads it in a
`.keras` file (safe mode on) and compares outputs, checks the output mask (its values, and
that a masked position changes no other output), that training mode differs from
inference only where dropout says it should, and runs one compiled training step
(`jit_compile=True`: XLA on TensorFlow, `jax.jit` on JAX) whose gradient must be finite
and non-zero for every trainable weight.

Keras' own `run_layer_test` (with its `run_training_step`) is not public API: Keras 3.15
has no `keras.testing` (only `keras.src.testing.TestCase`, which may change in any
release). This helper does the same with public calls only; the Keras mask an output
carries is read the public way, by the next layer (`_MaskProbe`), not with
`keras.src.backend.get_keras_mask`.
"""

import keras
import numpy as np


class _MaskProbe(keras.layers.Layer):
    """Returns the Keras mask of its input `(batch, T)`, as Keras hands a mask to the next
    layer's `call(mask=...)`; all `False` (and `received = False`) when there is none."""

    received = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # it reads the mask; no warning that it drops it

    def call(self, inputs, mask=None):
        self.received = mask is not None
        if mask is None:
            return keras.ops.zeros(keras.ops.shape(inputs)[:2], "bool")
        return mask  # no `compute_output_shape`: a symbolic call must trace `call`


def _numpy(tensors):
    return keras.tree.map_structure(keras.ops.convert_to_numpy, tensors)


def _assert_all_close(first, second, atol=1e-5):
    for a, b in zip(keras.tree.flatten(first), keras.tree.flatten(second), strict=True):
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5)


def run_layer_test(
    make_layer,
    inputs,
    call_kwargs=None,
    expected_output_shape=None,
    expected_weights_shape=None,
    supports_masks=True,
    has_dropout=False,
    tmp_path=None,
    zero_gradient_weights=(),
    training_step=True,
):
    """Exercise one layer.

    Args:
        make_layer: a zero-argument callable returning a fresh layer.
        inputs: a tuple of positional call arguments (NumPy arrays).
        call_kwargs: extra keyword arguments for every call.
        expected_output_shape: the output's shape.
        expected_weights_shape: the weights' shape with `return_attention_scores=True`,
            or `None` for layers that do not return weights.
        supports_masks: whether a Keras mask on the first input must reach the output.
        has_dropout: `make_layer()` has dropout > 0: training calls must differ from
            inference calls, and inference calls must repeat exactly.
        tmp_path: folder for the `.keras` file.
        zero_gradient_weights: trainable weights whose gradient is zero by construction,
            as the end of their path (`"F/kernel"`; say why at the call); their gradient
            must be exactly zero.
        training_step: run the compiled training step (off where another case already
            ran it for the same layer).
    """
    call_kwargs = dict(call_kwargs or {})
    layer = make_layer()

    # 1. Build and call; shapes and finiteness.
    outputs = _numpy(layer(*inputs, **call_kwargs))
    assert layer.built
    assert outputs.shape == tuple(expected_output_shape)
    assert np.all(np.isfinite(outputs))
    assert tuple(layer.compute_output_shape(*(np.shape(x) for x in inputs))) == tuple(
        expected_output_shape
    )
    if expected_weights_shape is not None:
        output_again, weights = _numpy(
            layer(*inputs, return_attention_scores=True, **call_kwargs)
        )
        assert weights.shape == tuple(expected_weights_shape)
        np.testing.assert_allclose(output_again, outputs, atol=1e-5)

    # 2. Config round trip: same config, and the same outputs given the same weights.
    config = layer.get_config()
    clone = type(layer).from_config(config)
    clone(*inputs, **call_kwargs)
    assert clone.get_config() == config
    clone.set_weights(layer.get_weights())
    _assert_all_close(_numpy(clone(*inputs, **call_kwargs)), outputs)

    # 3. `.keras` save and load inside a functional model, safe mode on.
    symbolic = [keras.Input(np.shape(x)[1:], dtype=str(np.asarray(x).dtype)) for x in inputs]
    model = keras.Model(symbolic, layer(*symbolic, **call_kwargs))
    path = tmp_path / f"{layer.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    _assert_all_close(_numpy(loaded(list(inputs))), _numpy(model(list(inputs))))
    _assert_all_close(_numpy(loaded(list(inputs))), outputs)

    # 4. Training vs inference.
    if has_dropout:
        inference = [_numpy(layer(*inputs, training=False, **call_kwargs)) for _ in range(2)]
        _assert_all_close(inference[0], inference[1], atol=0)
        training = _numpy(layer(*inputs, training=True, **call_kwargs))
        assert not np.allclose(training, inference[0])
    else:
        _assert_all_close(_numpy(layer(*inputs, training=True, **call_kwargs)), outputs)

    # 5. A Keras mask on the first input reaches the output.
    if supports_masks:
        first = inputs[0]
        mask = np.ones(np.shape(first)[:2], bool)
        mask[0, -1] = False
        masked = keras.layers.Masking(mask_value=0.0)
        first_masked = np.array(first, copy=True)
        first_masked[0, -1] = 0.0
        symbolic_first = keras.Input(np.shape(first)[1:])
        rest = [keras.Input(np.shape(x)[1:]) for x in inputs[1:]]
        probe = make_layer()
        mask_probe = _MaskProbe()
        mask_probe(probe(masked(symbolic_first), *rest, **call_kwargs))
        assert mask_probe.received, "the query's Keras mask did not reach the output"
        _check_mask_values(probe, masked(first_masked), inputs[1:], mask, call_kwargs)

    # 6. One compiled training step through the layer.
    if training_step:
        check_training_step(make_layer, inputs, call_kwargs, zero_gradient_weights)
    return layer


def check_training_step(make_layer, inputs, call_kwargs=None, zero_gradient_weights=()):
    """One `train_on_batch` step, compiled with `jit_compile=True`, through a fresh layer.

    With plain SGD at learning rate 1, `weight_before - weight_after` is the gradient: it
    must be finite for every trainable weight, and non-zero except for the weights named in
    `zero_gradient_weights` (exactly zero for those). The loss is the squared distance to a
    random target, so that no gradient vanishes by symmetry of the loss.
    """
    call_kwargs = dict(call_kwargs or {})
    layer = make_layer()
    symbolic = [keras.Input(np.shape(x)[1:], dtype=str(np.asarray(x).dtype)) for x in inputs]
    output = layer(*symbolic, **call_kwargs)
    model = keras.Model(symbolic, output)
    assert layer.trainable_weights or not layer.weights, "weights but none trainable"
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mean_squared_error",
        jit_compile=True,
    )
    target_shape = (np.shape(inputs[0])[0], *output.shape[1:])
    target = np.random.default_rng(0).normal(size=target_shape).astype("float32")
    before = {weight.path: keras.ops.convert_to_numpy(weight) for weight in model.trainable_weights}
    loss = model.train_on_batch(list(inputs), target)
    assert np.isfinite(loss), loss
    def expected_zero(path):
        return any(path.endswith(f"/{name}") for name in zero_gradient_weights)

    unexpected = [
        name for name in zero_gradient_weights
        if not any(path.endswith(f"/{name}") for path in before)
    ]
    assert not unexpected, f"no such weights: {unexpected}"
    for weight in model.trainable_weights:
        gradient = before[weight.path] - keras.ops.convert_to_numpy(weight)
        assert np.all(np.isfinite(gradient)), f"non-finite gradient for {weight.path}"
        if expected_zero(weight.path):
            assert np.all(gradient == 0), f"{weight.path}: a gradient where none was expected"
        else:
            assert np.any(gradient != 0), f"zero gradient for {weight.path}"


def _check_mask_values(layer, masked_first, rest, mask, call_kwargs):
    """The output mask equals the input's, and a masked position changes no other output.

    Positions are independent queries, so the kept positions of the masked call must equal
    the call on the sequence cut before the masked (last) position of the first example.
    """
    outputs = layer(masked_first, *rest, **call_kwargs)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(_MaskProbe()(outputs)), mask)
    first = keras.ops.convert_to_numpy(masked_first)
    cut = layer(first[:1, :-1], *(x[:1] for x in rest), **call_kwargs)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(outputs)[:1, :-1], keras.ops.convert_to_numpy(cut),
        atol=1e-5, rtol=1e-5, err_msg="the masked position changed the outputs of others",
    )
