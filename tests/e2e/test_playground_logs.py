"""``cb-helper sim serve`` writes each finished job's step output to a log file, and says where."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.test_playground import serve


def test_each_finished_jobs_log_is_written_where_serve_said(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    for served in serve("--project", "gh/acme/project-b", "--logs-dir", str(logs)):
        triggered = served.helper("trigger", "--project", "gh/acme/project-b", "--branch", "main")
        assert triggered.returncode == 0, triggered.stderr
        pipeline_id = triggered.stdout.strip()
        approved = served.helper("approve", "--job-name", "hold", "--pipeline-id", pipeline_id)
        assert approved.returncode == 0, approved.stderr
        status = served.helper("status", "--pipeline-id", pipeline_id, "--wait", "--timeout", "60")
        assert status.returncode == 0, status.stdout + status.stderr
        deploy_log = logs / "gh" / "acme" / "project-b" / "2-deploy.log"
        for _ in range(300):  # the log is written as the job's last event, just after its status changed
            if deploy_log.is_file():
                break
            time.sleep(0.1)
    build = (logs / "gh" / "acme" / "project-b" / "1-build.log").read_text(encoding="utf-8").splitlines()
    assert build[0] == "--- Build [success, exit 0]"
    assert build[1].startswith("built ")
    deploy = (logs / "gh" / "acme" / "project-b" / "2-deploy.log").read_text(encoding="utf-8").splitlines()
    assert deploy == ["--- Deploy [success, exit 0]", "deployed pipeline 1"]
