"""Bad orb parameters reach the real cb-helper, which fails with one line and exit status 2, sending nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.orb.runstep import run_step

HELPER_BIN = Path(sys.executable).parent
# Nothing listens there: reaching the network would fail with status 3, not 2.
NOWHERE = {
    "CIRCLECI_HOST": "http://127.0.0.1:9",
    "CIRCLE_TOKEN": "dummy",
    "CIRCLE_WORKFLOW_ID": "5034460f-c7c4-4c43-9457-de07e2029e7b",
}


def run_real(tmp_path: Path, command: str, arguments: dict[str, Any]) -> tuple[int, str]:
    result = run_step(command, arguments, [tmp_path, HELPER_BIN], NOWHERE)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    ("command", "arguments", "named"),
    [
        ("trigger_pipeline", {"project_slug": "", "branch": "main"}, "''"),
        ("trigger_pipeline", {"project_slug": "acme/b", "branch": "main"}, "acme/b"),
        ("trigger_pipeline", {"project_slug": "gh/acme/b", "branch": "main", "parameters": "{oops"}, "{oops"),
        ("trigger_pipeline", {"project_slug": "gh/acme/b", "branch": "main", "parameters": "[1]"}, "[1]"),
        ("approve_job", {"upstream_workflow_id": "not-a-uuid", "allowed_projects": "gh/a/b"}, "not-a-uuid"),
        (
            "approve_job",
            {
                "upstream_workflow_id": "5034460f-c7c4-4c43-9457-de07e2029e7b",
                "job_name": "",
                "allowed_projects": "gh/a/b",
            },
            "job-name",
        ),
        ("approve_job", {"upstream_workflow_id": "5034460f-c7c4-4c43-9457-de07e2029e7b"}, "allowed_projects"),
        ("approve_job", {"upstream": '{"v": 1}'}, "lacks the field(s)"),
        ("approve_job", {"upstream": "not json"}, "not JSON"),
        (
            "approve_job",
            {"upstream_pipeline_id": "5034460f-c7c4-4c43-9457-de07e2029e7b", "allowed_projects": "nonsense"},
            "nonsense",
        ),
        ("check_status", {"pipeline_id": "12345"}, "12345"),
    ],
)
def test_bad_parameter_fails_with_one_line_and_status_2(
    tmp_path: Path, command: str, arguments: dict[str, Any], named: str
) -> None:
    code, stderr = run_real(tmp_path, command, arguments)
    assert code == 2, stderr
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, stderr
    assert named in errors[0]


def test_circle_back_without_upstream_succeeds_and_says_so(tmp_path: Path) -> None:
    code, stderr = run_real(tmp_path, "approve_job", {})
    assert code == 0, stderr
    assert "nothing to approve" in stderr
