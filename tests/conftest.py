"""Shared fixtures: quiet TensorFlow, seeded Keras, and the real-data directory; and the
grouping that lets pytest-xdist (`-n 2`, as `tests/run_all.sh` runs the suite) share trained
fixtures instead of training them once per worker."""

import gc
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

from attention_layers.training.devices import exact_float32  # noqa: E402

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


def _work_unit(item):
    """The xdist group that `item` must share a worker with, or None if it may go anywhere.

    A test that uses a session fixture defined below `tests/` (a trained model, an export, a
    finished run) goes with every other user of that fixture: the folder of the conftest or
    the module that defines it. A test that uses a module-scoped fixture goes with its module.
    Any other test is a unit of its own, so that the two workers stay evenly loaded.
    """
    shared = set()
    module_scoped = False
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        definition = definitions[-1]
        if definition.scope == "session" and definition.baseid not in ("", "tests"):
            shared.add(definition.baseid)
        elif definition.scope == "module":
            module_scoped = True
    if shared:
        return min(shared)
    if module_scoped:
        return item.nodeid.split("::")[0]
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    in_xdist = hasattr(config, "workerinput") or getattr(config.option, "numprocesses", None)
    if not in_xdist:
        return  # one process: collection order, no groups
    groups = {item.nodeid: _work_unit(item) for item in items}
    slow_units = set()
    for item in items:
        group = groups[item.nodeid]
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
        if item.get_closest_marker("slow") is not None:
            slow_units.add(group or item.nodeid)
    # Units that train or start processes first, so that no long test starts last and
    # keeps one worker busy while the other waits (a stable sort: order within a unit holds).
    items.sort(key=lambda item: (groups[item.nodeid] or item.nodeid) not in slow_units)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """What collection imported (TensorFlow, Keras, every test module) lives as long as the
    process: frozen, the garbage collector no longer walks it in each full collection. In
    `tests/models` and `tests/export` (135 tests, one process) the collector's time fell from
    14.1 to 6.3 s of about 115 CPU seconds (benchmarks/RESULTS.md, "CI time: the garbage
    collector, and the machine"); the commands the tests start do the same (`_start_up.py`)."""
    gc.freeze()
