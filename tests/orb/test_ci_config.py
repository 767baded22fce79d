"""The project's own CircleCI configs: the release waits for integration jobs that use the orb's examples."""

from __future__ import annotations

from typing import Any

from tools.orbkit.bundle import REPO_ROOT
from tools.orbkit.check import project_configs


def _jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for entry in workflow["jobs"]:
        reference, arguments = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        entries[str((arguments or {}).get("name", reference))] = {"reference": reference, **(arguments or {})}
    return entries


def test_publishing_waits_for_the_examples_rehearsed_and_the_final_circle_back_job() -> None:
    config = project_configs()["test-deploy.yml"]
    jobs = _jobs(config["workflows"]["test-deploy"])
    publish_requires = set(jobs["orb-tools/publish"]["requires"])
    rehearse = config["jobs"]["integration_rehearse_examples"]
    assert any(
        step.get("run", {}).get("command") == "make demo" for step in rehearse["steps"] if isinstance(step, dict)
    )
    final = jobs["integration_circle_back_final_job"]
    assert final["reference"] == "circleback/circle_back"
    assert final["requires"] == [{"integration_install_bundled": "terminal"}]
    integration = {name for name in jobs if name.startswith("integration_")}
    assert integration <= publish_requires
    assert {"integration_rehearse_examples", "integration_circle_back_final_job"} <= integration


def test_ci_installs_the_shells_the_orb_scripts_are_tested_under() -> None:
    """The test job runs .ci/run, which installs dash and busybox where missing and sets CI, so the tests under
    them fail rather than skip."""
    test = project_configs()["config.yml"]["jobs"]["test"]
    commands = [step["run"]["command"] for step in test["steps"] if isinstance(step, dict) and "run" in step]
    assert ".ci/run" in commands
    entry = (REPO_ROOT / ".ci" / "run").read_text()
    assert "apt-get install" in entry
    assert "dash busybox" in entry
    assert 'export CI="${CI:-true}"' in entry
    assert entry.rstrip().endswith("make test")
