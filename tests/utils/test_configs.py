"""`attribute_config`: the `get_config` entries of attributes kept under their own names."""

import doctest

import pytest

from attention_layers.utils import configs
from attention_layers.utils.configs import attribute_config


class _Kept:
    units, dropout, cell = 8, 0.1, "gru"


def test_the_names_come_back_in_the_order_given():
    assert list(attribute_config(_Kept(), "cell", "units", "dropout").items()) == [
        ("cell", "gru"), ("units", 8), ("dropout", 0.1),
    ]


def test_a_name_the_object_does_not_keep_is_an_error():
    with pytest.raises(AttributeError, match="missing"):
        attribute_config(_Kept(), "units", "missing")


def test_the_module_example_runs():
    result = doctest.testmod(configs, verbose=False)
    assert result.attempted > 0 and result.failed == 0
