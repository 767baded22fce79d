"""The orb's run steps assemble the right cb-helper command line, and pass its exit status through, under
bash, dash and busybox ash alike (the ``shell`` fixture)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.orb.runstep import PIPELINE_ID, fake_helper, packed_orb, run_step

WORKFLOW_ID = "9f2c1f4e-5b7a-4c55-8a39-2a1d8f0e6b11"
SECRET = "s3cr3t-token-value"  # a dummy that must never reach argv


RECORD = '{"v":1}'  # the scripts pass the record on untouched; cb-helper parses it


def run_fake(
    shell: str,
    tmp_path: Path,
    command: str,
    arguments: dict[str, Any],
    exit_code: int = 0,
    step: int = 0,
    bash_env: str = "",
) -> tuple[int, list[str]]:
    bin_dir = tmp_path / "bin"
    fake_helper(bin_dir, sys.executable)
    argv_file = tmp_path / "argv.jsonl"
    result = run_step(
        command,
        arguments,
        [bin_dir],
        {
            "FAKE_ARGV_FILE": str(argv_file),
            "FAKE_EXIT": str(exit_code),
            "CIRCLE_WORKFLOW_ID": WORKFLOW_ID,
            "CIRCLE_TOKEN": SECRET,
            "BASH_ENV": bash_env,
        },
        step,
        shell,
    )
    assert "not found" not in result.stderr, result.stderr
    calls = [json.loads(line) for line in argv_file.read_text().splitlines()] if argv_file.exists() else []
    assert len(calls) <= 1
    return result.returncode, calls[0] if calls else []


def test_trigger_hands_off_the_record_and_never_the_token(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(shell, tmp_path, "trigger_pipeline", {"project_slug": "gh/acme/b", "branch": "main"})
    assert code == 0
    assert argv[0] == "trigger"
    assert argv[argv.index("--project") + 1] == "gh/acme/b"
    assert argv[argv.index("--branch") + 1] == "main"
    assert argv[argv.index("--upstream-workflow-id") + 1] == WORKFLOW_ID
    assert argv[argv.index("--hold") + 1] == "wait-for-triggered-pipeline"
    assert argv[argv.index("--deadline") + 1] == "6h"
    assert argv[argv.index("--record-parameter") + 1] == "circleback"
    assert argv[argv.index("--handoff-file") + 1] == "/tmp/circleback/pipeline-id.handoff.json"
    assert "--parameter" not in argv
    assert argv[argv.index("--token-env") + 1] == "CIRCLE_TOKEN"
    assert "--verify-start" in argv
    assert argv[argv.index("--start-timeout") + 1] == "120"
    assert argv[argv.index("--id-file") + 1] == "/tmp/circleback/pipeline-id"
    assert "--host" not in argv
    assert "--tag" not in argv
    assert SECRET not in json.dumps(argv)


def test_trigger_options(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(
        shell,
        tmp_path,
        "trigger_pipeline",
        {
            "project_slug": "gh/acme/b",
            "tag": "v1.2.3",
            "parameters": '{"deploy": true}',
            "pass_triggering_ids": False,
            "verify_start": False,
            "circleci_host": "https://circleci.example.com",
            "token": "OTHER_TOKEN",
            "definition_id": PIPELINE_ID,
        },
    )
    assert code == 0
    assert argv[argv.index("--tag") + 1] == "v1.2.3"
    assert argv[argv.index("--parameters-json") + 1] == '{"deploy": true}'
    assert "--parameter" not in argv
    assert "--no-verify-start" in argv
    assert argv[argv.index("--host") + 1] == "https://circleci.example.com"
    assert argv[argv.index("--token-env") + 1] == "OTHER_TOKEN"
    assert argv[argv.index("--definition-id") + 1] == PIPELINE_ID
    assert "--branch" not in argv


def test_legacy_handoff_passes_the_two_ids(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(
        shell, tmp_path, "trigger_pipeline", {"project_slug": "gh/a/b", "branch": "x", "handoff": "legacy"}
    )
    assert code == 0
    assert [a for a in argv if "=" in a] == [
        f"triggering-pipeline-id={PIPELINE_ID}",
        f"triggering-workflow-id={WORKFLOW_ID}",
    ]
    assert "--upstream-workflow-id" not in argv
    assert "--handoff-file" not in argv


def test_trigger_parameter_names_are_configurable(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(
        shell,
        tmp_path,
        "trigger_pipeline",
        {
            "project_slug": "gh/a/b",
            "branch": "x",
            "handoff": "legacy",
            "pipeline_id_parameter": "upstream",
            "workflow_id_parameter": "",
        },
    )
    assert code == 0
    assert [a for a in argv if "=" in a] == [f"upstream={PIPELINE_ID}"]
    code, argv = run_fake(
        shell,
        tmp_path / "record",
        "trigger_pipeline",
        {
            "project_slug": "gh/a/b",
            "branch": "x",
            "record_parameter": "upstream-record",
            "hold_job": "wait-for-b",
            "deadline": "90m",
        },
    )
    assert argv[argv.index("--record-parameter") + 1] == "upstream-record"
    assert argv[argv.index("--hold") + 1] == "wait-for-b"
    assert argv[argv.index("--deadline") + 1] == "90m"


@pytest.mark.parametrize("exit_code", [1, 2, 3, 4, 5])
def test_exit_status_passes_through(shell: str, tmp_path: Path, exit_code: int) -> None:
    for command, arguments in (
        ("trigger_pipeline", {"project_slug": "gh/a/b", "branch": "main"}),
        ("approve_job", {}),
        ("check_status", {}),
    ):
        directory = tmp_path / command
        assert run_fake(shell, directory, command, arguments, exit_code)[0] == exit_code


def test_circle_back_proves_the_record_then_approves_from_the_receipt(shell: str, tmp_path: Path) -> None:
    arguments = {"upstream": RECORD, "allowed_projects": "gh/acme/a, gh/acme/c  bb/x/y"}
    code, prove = run_fake(shell, tmp_path / "prove", "approve_job", arguments, step=0)
    assert code == 0
    assert prove[:3] == ["approve", "--upstream", RECORD]
    assert prove[prove.index("--downstream-pipeline-id") + 1] == PIPELINE_ID
    receipt = prove[prove.index("--receipt") + 1]
    assert receipt == str(tmp_path / "prove" / "bin" / ".circleback" / "receipt" / "receipt.json")  # ~ is $HOME
    assert "--prove-only" in prove
    allowed = [prove[i + 1] for i, a in enumerate(prove) if a == "--allow-project"]
    assert allowed == ["gh/acme/a", "gh/acme/c", "bb/x/y"]
    command = packed_orb()["commands"]["approve_job"]
    assert command["steps"][0]["when"]["steps"][1]["store_artifacts"] == {
        "path": "<< parameters.receipt_dir >>",
        "destination": "circleback",
    }
    assert command["parameters"]["receipt_dir"]["default"] == "~/.circleback/receipt"
    proven = tmp_path / "approve" / "bin" / ".circleback" / "receipt" / "receipt.json"
    proven.parent.mkdir(parents=True)
    proven.write_text("{}", encoding="utf-8")  # what the step before writes once the record is proven
    code, approve = run_fake(shell, tmp_path / "approve", "approve_job", arguments, step=2)
    assert code == 0
    assert approve[:3] == ["approve", "--from-receipt", receipt.replace("/prove/", "/approve/")]
    code, nothing = run_fake(shell, tmp_path / "unproven", "approve_job", arguments, step=2)  # no receipt
    assert code == 0
    assert nothing == []  # the record was not proven: nothing to approve, and no second error


def test_legacy_circle_back_needs_allowed_projects(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(shell, tmp_path / "refused", "approve_job", {"upstream_workflow_id": WORKFLOW_ID})
    assert code == 2
    assert argv == []  # refused before cb-helper runs
    code, argv = run_fake(
        shell,
        tmp_path,
        "approve_job",
        {
            "upstream_workflow_id": WORKFLOW_ID,
            "upstream_pipeline_id": PIPELINE_ID,
            "allowed_projects": "gh/acme/a, gh/acme/c  bb/x/y",
            "upstream_workflow_name": "build",
        },
    )
    assert code == 0
    assert argv[0] == "approve"
    assert argv[argv.index("--job-name") + 1] == "wait-for-triggered-pipeline"
    assert argv[argv.index("--workflow-id") + 1] == WORKFLOW_ID
    assert argv[argv.index("--pipeline-id") + 1] == PIPELINE_ID
    assert argv[argv.index("--workflow-name") + 1] == "build"
    allowed = [argv[i + 1] for i, a in enumerate(argv) if a == "--allow-project"]
    assert allowed == ["gh/acme/a", "gh/acme/c", "bb/x/y"]


def test_approve_without_upstream_passes_an_empty_record(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(shell, tmp_path, "approve_job", {})
    assert code == 0
    assert argv[:3] == ["approve", "--upstream", ""]
    assert "--allow-project" not in argv


def test_check_status_reads_the_id_file_or_the_id(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(shell, tmp_path / "a", "check_status", {"timeout": 60, "interval": 2})
    assert code == 0
    assert argv[:2] == ["status", "--wait"]
    assert argv[argv.index("--id-file") + 1] == "/tmp/circleback/pipeline-id"
    assert argv[argv.index("--timeout") + 1] == "60"
    assert argv[argv.index("--interval") + 1] == "2"
    code, argv = run_fake(shell, tmp_path / "b", "check_status", {"pipeline_id": PIPELINE_ID})
    assert argv[argv.index("--pipeline-id") + 1] == PIPELINE_ID
    assert "--id-file" not in argv


@pytest.mark.parametrize("exit_code", [0, 1])
def test_check_status_writes_outputs_and_junit_and_exports_the_outputs(
    shell: str, tmp_path: Path, exit_code: int
) -> None:
    outputs = tmp_path / "workspace" / "outputs"
    outputs.mkdir(parents=True)
    (outputs / "outputs.env").write_text("B_image_digest=sha256:0f1e\nB_note='two words'\n")  # as cb-helper writes it
    bash_env = tmp_path / "bash_env"
    bash_env.write_text("")
    arguments = {"outputs_dir": str(outputs), "env_prefix": "B_"}
    code, argv = run_fake(shell, tmp_path, "check_status", arguments, exit_code, bash_env=str(bash_env))
    assert code == exit_code  # the verdict's exit status, after the export
    assert argv[argv.index("--outputs-dir") + 1] == str(outputs)
    assert argv[argv.index("--env-prefix") + 1] == "B_"
    assert argv[argv.index("--junit") + 1] == str(tmp_path / "bin" / ".circleback/test-results/downstream-tests.xml")
    assert bash_env.read_text() == "export B_image_digest=sha256:0f1e\nexport B_note='two words'\n"
    command = packed_orb()["commands"]["check_status"]
    assert command["steps"][1] == {"store_test_results": {"path": "<< parameters.test_results_dir >>"}}
    job = packed_orb()["jobs"]["check_status"]
    assert job["steps"][-1] == {
        "persist_to_workspace": {"root": "<< parameters.workspace_root >>", "paths": ["<< parameters.outputs_dir >>"]}
    }


def test_circle_back_passes_the_outputs_file(shell: str, tmp_path: Path) -> None:
    code, prove = run_fake(shell, tmp_path, "approve_job", {"upstream": RECORD, "outputs": "~/ws/outputs.json"})
    assert code == 0
    assert prove[prove.index("--outputs") + 1] == str(tmp_path / "bin" / "ws" / "outputs.json")


@pytest.mark.parametrize(
    ("command", "arguments", "step"),
    [
        ("trigger_pipeline", {"project_slug": "gh/a/b", "branch": "main"}, 0),
        ("approve_job", {"upstream": RECORD}, 0),
        ("approve_job", {"upstream": RECORD}, 2),
        ("check_status", {}, 0),
        ("sweep", {"projects": "gh/a/b"}, 0),
    ],
)
def test_a_step_finds_cb_helper_through_bash_env(
    shell: str, tmp_path: Path, command: str, arguments: dict[str, Any], step: int
) -> None:
    """Under sh CircleCI does not read $BASH_ENV, where install_helper put cb-helper on PATH: the step does."""
    installed = tmp_path / "install" / "bin"
    fake_helper(installed, sys.executable)
    bash_env = tmp_path / "bash_env"
    bash_env.write_text(f'export PATH="{installed}:$PATH"\n')
    argv_file = tmp_path / "argv.jsonl"
    receipt = tmp_path / "home" / ".circleback" / "receipt" / "receipt.json"
    receipt.parent.mkdir(parents=True)
    receipt.write_text("{}")  # the circle-back approves only from a receipt the proof wrote
    result = run_step(
        command,
        arguments,
        [tmp_path / "home"],
        {"FAKE_ARGV_FILE": str(argv_file), "BASH_ENV": str(bash_env), "CIRCLE_WORKFLOW_ID": WORKFLOW_ID},
        step,
        shell,
    )
    assert result.returncode == 0, result.stderr
    assert len(argv_file.read_text().splitlines()) == 1


def test_sweep_options(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(
        shell,
        tmp_path,
        "sweep",
        {"projects": "gh/acme/a,gh/acme/b ,, bb/x/y\tgh/acme/*", "dry_run": True, "cancel_orphans": False},
    )
    assert code == 0
    assert argv[0] == "sweep"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--project"] == [
        "gh/acme/a",
        "gh/acme/b",
        "bb/x/y",
        "gh/acme/*",  # passed on as written, never expanded as a file pattern
    ]
    assert "--dry-run" in argv
    assert "--cancel-orphans" not in argv
    assert argv[argv.index("--since") + 1] == "24h"
    assert argv[argv.index("--token-env") + 1] == "CIRCLE_TOKEN"


def test_sweep_passes_each_project_and_each_cancel_project(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(
        shell,
        tmp_path,
        "sweep",
        {"projects": "gh/acme/a, gh/acme/d", "cancel_projects": "gh/acme/b,gh/acme/c"},
    )
    assert code == 0
    assert argv[0] == "sweep"
    pairs = list(zip(argv, argv[1:]))
    assert [v for k, v in pairs if k == "--project"] == ["gh/acme/a", "gh/acme/d"]
    assert [v for k, v in pairs if k == "--cancel-project"] == ["gh/acme/b", "gh/acme/c"]
    assert "--cancel-orphans" in argv
    assert SECRET not in json.dumps(argv)


def test_sweep_without_cancel_projects_cancels_nowhere(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(shell, tmp_path, "sweep", {"projects": "gh/acme/a"})
    assert code == 0
    assert "--cancel-project" not in argv


def test_the_circle_back_passes_hold_timeout(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(shell, tmp_path / "default", "approve_job", {"upstream": RECORD})
    assert code == 0
    assert argv[argv.index("--hold-timeout") + 1] == "300"
    code, argv = run_fake(shell, tmp_path / "set", "approve_job", {"upstream": RECORD, "hold_timeout": 45})
    assert code == 0
    assert argv[argv.index("--hold-timeout") + 1] == "45"
    job = packed_orb()["jobs"]["circle_back"]
    assert job["parameters"]["hold_timeout"]["default"] == 300
    [approve] = [s["approve_job"] for s in job["steps"] if isinstance(s, dict) and "approve_job" in s]
    assert approve["hold_timeout"] == "<< parameters.hold_timeout >>"


def test_the_trigger_passes_the_upstream_record_of_a_chain(shell: str, tmp_path: Path) -> None:
    code, argv = run_fake(shell, tmp_path / "none", "trigger_pipeline", {"project_slug": "gh/a/c", "branch": "main"})
    assert code == 0
    assert "--upstream" not in argv
    assert "--chain-margin" not in argv
    code, argv = run_fake(
        shell,
        tmp_path / "chain",
        "trigger_pipeline",
        {"project_slug": "gh/a/c", "branch": "main", "upstream": RECORD, "chain_margin": "15m"},
    )
    assert code == 0
    assert argv[argv.index("--upstream") + 1] == RECORD
    assert argv[argv.index("--chain-margin") + 1] == "15m"
    job = packed_orb()["jobs"]["trigger"]
    [step] = [s["trigger_pipeline"] for s in job["steps"] if isinstance(s, dict) and "trigger_pipeline" in s]
    assert step["upstream"] == "<< parameters.upstream >>"
    assert step["chain_margin"] == "<< parameters.chain_margin >>"
