"""Fixtures for the visualization tests: the Agg backend and a headless Chromium."""

import os
import shutil

import matplotlib
import pytest

# The library never uses pyplot; this keeps any indirect use off a display too.
matplotlib.use("Agg")

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="session")
def chromium_executable():
    """A headless-capable Chromium (`$CHROMIUM`, else Debian's `chromium` on the PATH).

    Skips when there is none, except under `CI=true`, where the browser test must run.
    """
    override = os.environ.get("CHROMIUM")
    found = shutil.which(override) if override else None
    found = found or next(filter(None, map(shutil.which, _BROWSERS)), None)
    if found:
        return found
    reason = (
        "no Chromium found (looked for $CHROMIUM and " + ", ".join(_BROWSERS) + "); "
        "install it with `apt-get install -y chromium` to test the HTML view in a browser"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)
