"""The chaos soak, short: the packed orb's A and B rehearsed under seeded faults, every invariant checked.

The full soak is ``make soak``; these seeds are fixed. The replays are seeds whose faults once broke an
invariant: each asserts that its fault still hits the same request, and that nothing is violated now.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.soak.cli import pair_for
from tools.soak.projects import B
from tools.soak.report import table
from tools.soak.run import RunReport, Settings, run


def soak(packed_orb: Path, tmp_path: Path, seed: int, rate: float) -> RunReport:
    return run(packed_orb, pair_for(packed_orb, seed), seed, Settings(rate=rate), tmp_path)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_faulted_run_keeps_every_invariant(packed_orb: Path, tmp_path: Path, seed: int) -> None:
    report = soak(packed_orb, tmp_path, seed, 0.15)
    print(table([report], []))
    assert report.violations == [], "\n".join(report.violations + report.notes)
    assert report.refused == []
    assert len(report.verdict_seconds) == 1
    assert sum(report.injected.values()) > 0  # the run really met faults


@pytest.mark.parametrize(
    ("seed", "route", "labels", "defect"),
    [
        (109, "POST /workflow/*/approve/*", {"504", "reset"}, "a lost approval failed B's circle-back"),
        (200, f"POST /project/{B}/pipeline", {"502"}, "a trigger the server never received failed A"),
        (408, f"GET /project/{B}/*/artifacts", {"500", "502", "503", "504", "reset"}, "A's check exited 3"),
        # The job lists are also polled, so how many come before the stale token depends on timing: the fault
        # may miss; the stale-token fix has its own test (tests/helper/test_client.py).
        (405, "", {"stale_page_token"}, "a stale page token failed B's proof and the sweep"),
    ],
)
def test_a_seed_that_once_broke_an_invariant_replays_clean(
    packed_orb: Path, tmp_path: Path, seed: int, route: str, labels: set[str], defect: str
) -> None:
    report = soak(packed_orb, tmp_path, seed, 0.3)
    if route:
        method, _, path = route.partition(" ")
        hit = {label for m, p, label in report.faults if (m, p) == (method, path)}
        assert hit & labels, f"seed {seed} no longer faults {route} ({defect}): {report.faults}"
    assert report.violations == [], "\n".join(report.violations + report.notes)
    assert report.refused == []


def test_a_violation_is_reported(packed_orb: Path, tmp_path: Path) -> None:
    """The checks can fail: a token printed by B's tests is caught."""
    scenario = pair_for(packed_orb, 11)
    script = 'echo "token: $CIRCLE_TOKEN"\n'
    config = scenario.downstream_configs[B]
    config["jobs"]["unit-tests" if "unit-tests" in config["jobs"] else "tests"]["steps"].insert(0, {"run": script})
    report = run(packed_orb, scenario, 11, Settings(), tmp_path)
    assert [v.partition(":")[0] for v in report.violations] == ["token never shown"], report.violations
