"""Fuzzing of every layer's input checks (issue 16): random shapes, dtypes, masks, empty
batches and lengths, float16 with large values.

The oracle (issue 29) decides from the documented contract alone whether a case is valid:
a valid case must give a finite result (no NaN, no inf) of the documented shape, and an
invalid one a `ValueError` that names one of the arguments the contract says are wrong.
An error on a valid case, or an error naming an argument that is fine, fails. Each test
also fails if too few of its cases were valid or none was invalid: a fuzzer whose every
input is rejected tests nothing.

Kept quick (the layer tests run once per backend): `max_examples` is bounded and each
example builds one small layer.
"""

import re

import keras
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import attention_layers as al
from tests.fuzzing import examples

# The same examples on every run and backend, so that a failure reproduces.
FUZZ = settings(examples(40), derandomize=True)
# Layers whose score is a dot product of the query with the key: their depths must match.
DOT_PRODUCT_SCORES = {"scaled_dot_product", "luong_dot"}
LOCATION_MAX_LENGTH = 5

LAYERS = {
    "scaled_dot_product": lambda **kw: al.ScaledDotProductAttention(**kw),
    "multi_head": lambda **kw: al.MultiHeadAttention(2, 3, **kw),
    "self_attention": lambda **kw: al.SelfAttention(3, **kw),
    "additive": lambda **kw: al.AdditiveAttention(3, **kw),
    "luong_dot": lambda **kw: al.LuongAttention("dot", **kw),
    "luong_general": lambda **kw: al.LuongAttention("general", **kw),
    "luong_concat": lambda **kw: al.LuongAttention("concat", units=3, **kw),
    "location": lambda **kw: al.LocationAttention(max_length=LOCATION_MAX_LENGTH, **kw),
    "location_sensitive": lambda **kw: al.LocationSensitiveAttention(
        3, filters=2, kernel_size=3, **kw
    ),
}
LAYER_NAMES = sorted(LAYERS)


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


def _wrong_arguments(name, query, value, kwargs):
    """The arguments that the contract (`BaseAttention`'s docstring) says are invalid.

    `query (batch, T_q, d_q)`, `value (batch, T_k, d_v)` (the key is the value here), masks
    `query_mask (batch, T_q)`, `value_mask (batch, T_k)`, `attention_mask (batch, T_q,
    T_k)`, `previous_alignment (batch, T_k)` or `(batch, T_q, T_k)`; a dot-product score
    needs `d_q == d_k`; location attention at most `max_length` keys. Empty batches and
    lengths are valid. Written from the shapes alone, not from the layers' checks.
    """
    wrong = set()
    if query.ndim != 3:
        wrong.add("query")
    if value.ndim != 3:
        wrong.add("value")
    if wrong:
        return wrong  # the masks' expected shapes are undefined
    batch, query_length, key_length = query.shape[0], query.shape[1], value.shape[1]
    if value.shape[0] != batch:
        wrong.add("value")
    if name in DOT_PRODUCT_SCORES and value.shape[-1] != query.shape[-1]:
        wrong.update({"key", "value"})
    if name == "location" and key_length > LOCATION_MAX_LENGTH:
        wrong.update({"value", "max_length"})
    expected = {
        "query_mask": [(batch, query_length)],
        "value_mask": [(batch, key_length)],
        "attention_mask": [(batch, query_length, key_length)],
        "previous_alignment": [(batch, key_length), (batch, query_length, key_length)],
    }
    for argument, shapes in expected.items():
        if argument in kwargs and np.shape(kwargs[argument]) not in shapes:
            wrong.add(argument)
    return wrong


def _check(call, wrong, counts):
    """Runs `call`: an error iff `wrong`, naming one of `wrong`; else a finite result."""
    try:
        result = call()
    except ValueError as error:
        assert wrong, f"a ValueError on a valid input: {error}"
        named = set(re.findall(r"`(\w+)`", str(error)))
        assert named & wrong, f"the error names none of {sorted(wrong)}: {error}"
        counts["errors"] += 1
        return None
    assert not wrong, f"accepted an input with invalid {sorted(wrong)}"
    counts["valid"] += 1
    for tensor in keras.tree.flatten(result):
        values = keras.ops.convert_to_numpy(keras.ops.cast(tensor, "float32"))
        assert np.all(np.isfinite(values)), "NaN or inf in a result"
    return result


def _fuzz_both_kinds(fuzz, what, capsys):
    """Runs `fuzz` (a `@FUZZ` test that counts its cases), prints the counts and checks that
    both valid and invalid cases ran."""
    counts = {"valid": 0, "errors": 0}
    fuzz(counts)
    with capsys.disabled():
        print(f"\n{what} fuzzing: {counts}")
    # 40 derandomized examples give about 20 valid ones: fewer than a quarter valid means
    # the cases drifted towards invalid input and test the checks alone.
    assert counts["valid"] >= FUZZ.max_examples // 4, f"too few valid cases: {counts}"
    assert counts["errors"] > 0, f"no invalid case was rejected: {counts}"


@FUZZ
@given(case=sequence_cases())
def _fuzz_attention_layers(counts, case):
    layer = LAYERS[case["name"]](dtype=case["policy"])
    kwargs = {name: value for name, value in case["kwargs"].items() if value is not None}
    if case["name"] == "self_attention":
        kwargs.pop("use_causal_mask")  # keep the keys of a different length legal
    query, value = case["query"], case["value"]
    wrong = _wrong_arguments(case["name"], query, value, kwargs)
    result = _check(lambda: layer(query, value, **kwargs), wrong, counts)
    if result is None:
        return
    context = result[0] if kwargs["return_attention_scores"] else result
    assert tuple(context.shape)[:2] == query.shape[:2]
    if kwargs["return_attention_scores"]:
        weights = keras.ops.convert_to_numpy(result[1]).astype("float32")
        assert weights.shape[-2:] == (query.shape[1], value.shape[1])
        sums = weights.sum(-1)
        # 1e-2: the weights may be float16 (3 significant digits) under a float16 policy.
        assert np.all((np.abs(sums - 1) < 1e-2) | (sums == 0)), "weights must sum to 1 or 0"


def test_every_attention_layer_checks_its_inputs(capsys):
    _fuzz_both_kinds(_fuzz_attention_layers, "attention-layer", capsys)


@st.composite
def pooling_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    batch, length, depth = draw(st.integers(0, 3)), draw(st.integers(0, 6)), draw(st.integers(1, 5))
    shape = _shape(draw, batch, length, depth)
    policy = draw(st.sampled_from(["float32", "float16", "mixed_float16"]))
    scale = draw(st.sampled_from([1.0, 10_000.0])) if "float16" in policy else 1.0
    return policy, (rng.normal(size=shape) * scale).astype("float32"), _mask(draw, rng, (batch, length))


@FUZZ
@given(case=pooling_cases())
def _fuzz_attention_pooling(counts, case):
    policy, inputs, mask = case
    layer = al.AttentionPooling(units=3, dtype=policy)
    # The contract: `inputs (batch, T, dim)`, `mask (batch, T)` (checked as the key's mask).
    wrong = set() if inputs.ndim == 3 else {"inputs"}
    if not wrong and mask is not None and mask.shape != inputs.shape[:2]:
        wrong = {"mask", "key_mask"}
    result = _check(
        lambda: layer(inputs, mask=mask, return_attention_scores=True), wrong, counts
    )
    if result is not None:
        pooled, weights = result
        assert tuple(pooled.shape) == (inputs.shape[0], inputs.shape[-1])
        assert tuple(weights.shape) == inputs.shape[:2]


def test_attention_pooling_checks_its_inputs(capsys):
    _fuzz_both_kinds(_fuzz_attention_pooling, "pooling", capsys)
