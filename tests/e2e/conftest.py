"""End-to-end fixtures: the orb packed from orb/src, exactly as it ships."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def packed_orb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``orb/src`` packed (with the bundled helper) into a file, once per test process."""
    from tools.orbkit.bundle import ORB_SRC, build_orb

    path = tmp_path_factory.mktemp("orb") / "orb.yml"
    path.write_text(build_orb(ORB_SRC), encoding="utf-8")
    return path
