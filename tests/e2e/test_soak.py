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


def test_the_table_has_a_row_for_each_seed_under_the_rate_limit() -> None:
    """The pair's runs add up in one row; each load and fan-out run is reported on its own, with its 429s."""
    limited = Settings(rate=0.1, rate_limit=(10, 1.0))

    def report(scenario: str, seed: int, settings: Settings, throttled: int = 0) -> RunReport:
        injected = {"500": 1, "rate_limit": throttled}
        return RunReport(scenario, seed, settings, [], [1.0], injected, 0, 10, 1.0)

    reports = [report("pair", 1, Settings(rate=0.1)), report("pair", 2, Settings(rate=0.1))]
    reports += [report(name, seed, limited, 100 * seed) for seed in (1, 2, 3) for name in ("load", "fan-out")]
    rows = [line for line in table(reports, []).splitlines() if line.startswith("| ") and "(s)" not in line]
    names = [row.split(" | ")[0].lstrip("| ") for row in rows[:7]]
    assert names == ["pair", *[f"{n} (seed {s})" for s in (1, 2, 3) for n in ("load", "fan-out")]]
    assert rows[0].split(" | ")[1:3] == ["2", "2"]  # two runs, two verdicts
    assert [row.split(" | ")[6] for row in rows[1:7]] == ["100", "100", "200", "200", "300", "300"]


def test_soak_refuses_no_seeds() -> None:
    from tools.soak.cli import main

    assert main(["--runs", "0", "--seeds", "0"]) == 2
