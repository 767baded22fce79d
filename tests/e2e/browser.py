"""A real headless browser for the HTML page: Debian's chromium, driven from the command line (no driver).

``dump_dom`` loads a file and prints the DOM as the page's own scripts left it (``--dump-dom``): a script that ran
would show there, in the title or an attribute it set. ``screenshot`` writes a PNG.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

import pytest

#: The flags of a quiet, isolated, offline run: no sandbox (root in CI), no GPU, no network chatter.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def chromium() -> str:
    """The browser's path; the test is skipped without one, unless CB_REQUIRE_BROWSER says it must run."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CB_REQUIRE_BROWSER"):
        pytest.fail("no chromium on PATH, and CB_REQUIRE_BROWSER is set (.ci/run installs Debian's chromium)")
    pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run installs it)")


def _run(page: Path, *extra: str, timeout: float = 120) -> str:
    with tempfile.TemporaryDirectory(prefix="cb-chromium-") as profile:
        result = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "HOME": profile},
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def dump_dom(page: Path) -> str:
    """The DOM after the page loaded and its scripts (if any) ran."""
    return _run(page, "--virtual-time-budget=3000", "--dump-dom")


def screenshot(page: Path, target: Path, width: int = 1280, height: Optional[int] = None) -> Path:
    """A PNG of the page at ``width`` pixels (``height`` defaults to a long page)."""
    _run(page, f"--window-size={width},{height or 2000}", f"--screenshot={target.resolve()}")
    assert target.is_file()
    return target
