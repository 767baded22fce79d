"""The shells the orb's steps run under, and a userland without bash.

Without dash or busybox a test that needs it fails under CI (``CI`` set, as CircleCI sets it; ``.ci/run``
installs both) and is skipped elsewhere, with the command that installs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.orb.runstep import SHELLS


def need(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        message = f"{program} is not installed: the orb's steps are tested under it (apt-get install dash busybox)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(params=list(SHELLS))
def shell(request: pytest.FixtureRequest) -> str:
    """Each shell CircleCI may run a step with: bash, dash, busybox ash."""
    name = str(request.param)
    need(SHELLS[name][0])
    return name


@pytest.fixture(params=["dash", "busybox"])
def posix_shell(request: pytest.FixtureRequest) -> str:
    """dash and busybox ash: the /bin/sh of an image without bash."""
    name = str(request.param)
    need(SHELLS[name][0])
    return name


@pytest.fixture(scope="session")
def no_bash_userland(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of busybox's applets (ls, sed, mkdir, readlink, ...) and nothing else: a PATH without bash,
    as on python:3-alpine."""
    busybox = need("busybox")
    directory = tmp_path_factory.mktemp("busybox-bin")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        (directory / applet).symlink_to(busybox)
    assert not (directory / "bash").exists()
    return directory
