"""Settings shared by the fuzz tests (`tests/**/test_fuzz_*.py`).

Each fuzz test runs `examples(n)` random cases: `n` in CI, so that the whole fuzz set
takes well under a minute on two cores, and `n * FUZZ_SCALE` when the variable is set,
to keep looking for longer (`FUZZ_SCALE=50 pytest tests -k fuzz
--hypothesis-show-statistics` prints how many cases each test ran). There is no
per-case deadline: a wall-clock limit fails on a loaded machine for no fault of the code.
"""

import os

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def examples(count):
    """Hypothesis settings for a fuzz test of `count` cases (times `FUZZ_SCALE`)."""
    return settings(
        max_examples=max(1, int(count * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
