"""Progress in a CI log: each state once, and a heartbeat that says it is one, never the same line twice."""

from __future__ import annotations

import pytest

from cb_helper.commands.options import Progress


def test_a_state_prints_once_and_its_heartbeat_says_still(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(every=3600)
    progress("approval job 'hold' is blocked; waiting until it is on hold")
    progress("approval job 'hold' is blocked; waiting until it is on hold")
    progress.every = 0  # the next look comes after the heartbeat interval
    progress("approval job 'hold' is blocked; waiting until it is on hold")
    progress("approval job 'hold' is on_hold")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "approval job 'hold' is blocked; waiting until it is on hold"
    assert lines[1].startswith("approval job 'hold' is blocked; waiting until it is on hold (still, after ")
    assert lines[2:] == ["approval job 'hold' is on_hold"]
    assert len(set(lines)) == len(lines)
