"""Settings shared by the fuzz tests (`tests/**/test_fuzz_*.py`).

Each fuzz test runs `examples(n)` random cases: `n` in CI, so that the whole fuzz set
takes well under a minute on two cores, and `n * FUZZ_SCALE` when the variable is set,
to keep looking for longer (`FUZZ_SCALE=50 pytest tests -k fuzz
--hypothesis-show-statistics` prints how many cases each test ran). The deadline turns
a hang into a failure.
"""

import datetime
import os

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def examples(count):
    """Hypothesis settings for a fuzz test of `count` cases (times `FUZZ_SCALE`)."""
    return settings(
        max_examples=max(1, int(count * SCALE)),
        # One case must not take more than this: a slower one is reported as a hang.
        deadline=datetime.timedelta(seconds=10),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
