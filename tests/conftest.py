"""Shared fixtures: quiet TensorFlow, seeded Keras, and the real-data directory."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

from attention_layers.training.scale import exact_float32  # noqa: E402

# Tests compare float32 results to tight tolerances; on a GPU they must not run in TF32.
exact_float32()


@pytest.fixture(autouse=True)
def _seed_and_reset():
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(scope="session")
def data_dir():
    """The real corpora (`../shared/data`), from `ATTENTION_DATA_DIR`.

    Tests that need it skip when the variable is unset, except under `CI=true`, where a
    missing directory is an error: CI must exercise the real data.
    """
    value = os.environ.get("ATTENTION_DATA_DIR")
    if not value:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but ATTENTION_DATA_DIR is not set")
        pytest.skip("ATTENTION_DATA_DIR is not set")
    path = pathlib.Path(value)
    if not path.is_dir():
        pytest.fail(f"ATTENTION_DATA_DIR={value!r} is not a directory")
    return path
