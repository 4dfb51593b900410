"""Compatibility only: `tests/conftest.py` still imports `exact_float32` from here. The module
is now `attention_layers.training.distribution` (and `exact_float32` lives in
`attention_layers.training.devices`); remove this file once conftest imports from there
(docs/compatibility.md)."""

from attention_layers.training.devices import exact_float32

__all__ = ["exact_float32"]
