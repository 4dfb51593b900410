"""Fuzzing of every layer's input checks (issue 16): random shapes, dtypes, masks, empty
batches and lengths, float16 with large values. Each input gives a finite result of the
documented shape, or a `ValueError` naming the argument; never NaN or an error from inside
a backend.

Kept quick (the layer tests run once per backend): `max_examples` is bounded and each
example builds one small layer.
"""

import re

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attention_layers as al

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples on every run and backend: a failure reproduces
)
ARGUMENTS = {
    "query", "value", "key", "query_mask", "value_mask", "key_mask", "attention_mask",
    "previous_alignment", "inputs", "max_length",
}
EXAMPLES = {"sequence": 0, "pooling": 0, "valid": 0, "errors": 0}  # reported by the last test


def _layers(depth):
    return {
        "scaled_dot_product": lambda **kw: al.ScaledDotProductAttention(**kw),
        "multi_head": lambda **kw: al.MultiHeadAttention(2, 3, **kw),
        "self_attention": lambda **kw: al.SelfAttention(3, **kw),
        "additive": lambda **kw: al.AdditiveAttention(3, **kw),
        "luong_dot": lambda **kw: al.LuongAttention("dot", **kw),
        "luong_general": lambda **kw: al.LuongAttention("general", **kw),
        "luong_concat": lambda **kw: al.LuongAttention("concat", units=3, **kw),
        "location": lambda **kw: al.LocationAttention(max_length=5, **kw),
        "location_sensitive": lambda **kw: al.LocationSensitiveAttention(
            3, filters=2, kernel_size=3, **kw
        ),
    }


LAYER_NAMES = sorted(_layers(1))


def _shape(draw, batch, length, depth):
    """Usually `(batch, length, depth)`; sometimes a wrong rank or size."""
    kind = draw(st.sampled_from(["right"] * 12 + ["rank 2", "rank 4", "other batch", "other depth"]))
    if kind == "rank 2":
        return (batch, depth)
    if kind == "rank 4":
        return (batch, length, depth, 1)
    if kind == "other batch":
        return (batch + 1, length, depth)
    if kind == "other depth":
        return (batch, length, depth + 1)
    return (batch, length, depth)


def _mask(draw, rng, shape):
    kind = draw(st.sampled_from(["none"] * 3 + ["random", "all false", "wrong shape"]))
    if kind == "none":
        return None
    if kind == "wrong shape":
        return rng.random((shape[0], shape[-1] + 1)) < 0.5
    mask = rng.random(shape) < 0.6
    return np.zeros(shape, bool) if kind == "all false" else mask


@st.composite
def sequence_cases(draw):
    batch, query_length, key_length = (draw(st.integers(0, 3)), draw(st.integers(0, 5)),
                                       draw(st.integers(0, 6)))
    depth = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    policy = draw(st.sampled_from(["float32", "float16", "mixed_float16", "bfloat16"]))
    scale = draw(st.sampled_from([1.0, 100.0, 10_000.0])) if "float16" in policy else 1.0
    query_shape = _shape(draw, batch, query_length, depth)
    value_shape = _shape(draw, batch, key_length, depth)
    case = {
        "name": draw(st.sampled_from(LAYER_NAMES)),
        "policy": policy,
        "query": (rng.normal(size=query_shape) * scale).astype("float32"),
        "value": (rng.normal(size=value_shape) * scale).astype("float32"),
        "kwargs": {
            "value_mask": _mask(draw, rng, (batch, key_length)),
            "query_mask": _mask(draw, rng, (batch, query_length)),
            "use_causal_mask": draw(st.booleans()),
            "return_attention_scores": draw(st.booleans()),
        },
    }
    if draw(st.booleans()):
        case["kwargs"]["attention_mask"] = rng.random((batch, query_length, key_length)) < 0.7
    if case["name"] == "location_sensitive" and draw(st.booleans()):
        alignment_shape = draw(st.sampled_from([(batch, key_length), (batch, query_length, key_length), (batch, key_length + 1)]))
        case["kwargs"]["previous_alignment"] = rng.random(alignment_shape).astype("float32")
    return case


def _assert_valid_or_named_error(call):
    try:
        result = call()
    except ValueError as error:
        names = set(re.findall(r"`(\w+)`", str(error)))
        assert names & ARGUMENTS, f"the error names no argument: {error}"
        EXAMPLES["errors"] += 1
        return None
    EXAMPLES["valid"] += 1
    for tensor in keras.tree.flatten(result):
        values = keras.ops.convert_to_numpy(keras.ops.cast(tensor, "float32"))
        assert not np.any(np.isnan(values)), "NaN in a result"
    return result


@FUZZ
@given(sequence_cases())
def test_every_attention_layer_checks_its_inputs(case):
    EXAMPLES["sequence"] += 1
    layer = _layers(case["query"].shape[-1])[case["name"]](dtype=case["policy"])
    kwargs = {name: value for name, value in case["kwargs"].items() if value is not None}
    if case["name"] == "self_attention":
        kwargs.pop("use_causal_mask")  # keep the keys of a different length legal
    result = _assert_valid_or_named_error(lambda: layer(case["query"], case["value"], **kwargs))
    if result is None:
        return
    context = result[0] if kwargs["return_attention_scores"] else result
    query, value = case["query"], case["value"]
    assert tuple(context.shape)[:2] == query.shape[:2]
    if kwargs["return_attention_scores"]:
        weights = keras.ops.convert_to_numpy(result[1]).astype("float32")
        assert weights.shape[-2:] == (query.shape[1], value.shape[1])
        sums = weights.sum(-1)
        assert np.all((np.abs(sums - 1) < 1e-2) | (sums == 0)), "weights must sum to 1 or 0"


@st.composite
def pooling_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    batch, length, depth = draw(st.integers(0, 3)), draw(st.integers(0, 6)), draw(st.integers(1, 5))
    shape = _shape(draw, batch, length, depth)
    policy = draw(st.sampled_from(["float32", "float16", "mixed_float16"]))
    scale = draw(st.sampled_from([1.0, 10_000.0])) if "float16" in policy else 1.0
    return policy, (rng.normal(size=shape) * scale).astype("float32"), _mask(draw, rng, (batch, length))


@FUZZ
@given(pooling_cases())
def test_attention_pooling_checks_its_inputs(case):
    EXAMPLES["pooling"] += 1
    policy, inputs, mask = case
    layer = al.AttentionPooling(units=3, dtype=policy)
    result = _assert_valid_or_named_error(
        lambda: layer(inputs, mask=mask, return_attention_scores=True)
    )
    if result is not None:
        pooled, weights = result
        assert tuple(pooled.shape) == (inputs.shape[0], inputs.shape[-1])
        assert tuple(weights.shape) == inputs.shape[:2]


def test_fuzzers_ran(capsys):
    if not all(EXAMPLES.values()):
        pytest.skip("run with the fuzz tests above to count their examples")
    with capsys.disabled():
        print(f"\nlayer fuzzing: {EXAMPLES['sequence']} attention-layer examples, "
              f"{EXAMPLES['pooling']} pooling examples ({EXAMPLES['valid']} valid results, "
              f"{EXAMPLES['errors']} named errors)")
