"""``make demo``: both scenarios, and a demo that notices when a scenario misbehaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import demo


def test_demo_passes_with_all_scenarios(packed_orb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--orb", str(packed_orb), "--pages", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("as expected") == 3
    assert "\x1b[" not in out  # no colour when not on a terminal
    assert "A's verdict: check-project-b success (exit 0)" in out
    assert "A's verdict: check-project-b failed (exit 1)" in out
    assert "failed job: unit-tests" in out
    assert f"A's deploy job: deploying image {demo.DIGEST}" in out
    assert out.count("approve-deploy, a person's approval: approving it as a person") == 1  # only for a passing B
    assert "unit-tests: test_total_includes_tax (tests/test_cart.py): AssertionError: expected 10.80" in out
    assert "A's check stored 2 failing test(s) of B: test_total_includes_tax, test_discount_rounding" in out
    assert out.count("billable while waiting: 0.00s") == 3
    assert "running the sweep" in out
    assert "B finished (canceled) without circling back -> released the hold" in out
    assert "A's verdict: check-project-b failed (exit 5)" in out
    assert "released: gh/acme/project-b was canceled" in out
    assert out.rstrip().endswith("All scenarios behaved as they should.")
    # What happened, in the order it happened: the sweep's lines after A got stuck and before A was released.
    third = out.split("== B's workflow is canceled", 1)[1].splitlines()
    stuck = next(i for i, line in enumerate(third) if "stuck: gh/acme/project-a #1" in line)
    sweep = third.index("A waits on wait-for-triggered-pipeline and B will never circle back: running the sweep")
    released = next(
        i for i, line in enumerate(third) if "wait-for-triggered-pipeline: approved through the API" in line
    )
    assert stuck < sweep < released
    # B's failing tests keep their place under the line that counts them, as A's check printed them.
    assert "  project-b: 2 failing tests:\n    unit-tests: test_total_includes_tax (tests/test_cart.py)" in out
    assert "\n      failed job: unit-tests (failed)  " in out
    for index in (1, 2, 3):
        page = tmp_path / f"scenario-{index}.html"
        assert f"A's check drew the circleback on one page: {page}" in out
        assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert ">test_discount_rounding<" in (tmp_path / "scenario-2.html").read_text(encoding="utf-8")


def test_demo_fails_when_a_scenario_does_not_behave(
    packed_orb: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = demo.Scenario("B fails but A is expected to pass", "circle_back_with_final_job", "1", "success")
    monkeypatch.setattr(demo, "SCENARIOS", (wrong,))
    assert demo.main(["--orb", str(packed_orb)]) == 1
    out = capsys.readouterr().out
    assert "NOT AS EXPECTED: A's workflow is failed, expected success" in out
    assert "1 scenario(s) did not behave as they should." in out
