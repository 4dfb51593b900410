"""The suite's xdist groups reach pytest-xdist's scheduler.

`tests/conftest.py` marks each test that uses a shared trained fixture with an
`xdist_group`, and `tests/run_all.sh` runs `--dist loadgroup`, so that each fixture is
trained once, on one worker. pytest-xdist carries the group to its scheduler as a suffix of
the node id (`path::test@group`); with pytest 9.2 that suffix is lost without a word
(pytest-dev/pytest-xdist#1386) and every worker trains every fixture again: the CI of
2026-12-07 spent its time so. This test fails when that happens again.
"""

import os

import pytest


@pytest.fixture(scope="module")
def module_fixture():
    """A module-scoped fixture: its users form one group, this module's path."""
    return 1


def test_a_test_with_a_module_fixture_carries_its_group(module_fixture, request):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("groups exist only on pytest-xdist workers (tests/run_all.sh)")
    if not getattr(request.config.option, "loadgroup", False):  # set by xdist on workers
        pytest.skip("groups matter only with --dist loadgroup (tests/run_all.sh)")
    assert request.node.nodeid.endswith("@tests/package/test_test_groups.py"), (
        f"{request.node.nodeid}: pytest-xdist lost the group, so shared fixtures are trained "
        "once per worker (pytest-dev/pytest-xdist#1386; requirements-dev.txt pins pytest)"
    )
