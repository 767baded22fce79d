"""B's outputs and failing tests back in A, through the CLI against the simulator: approve --outputs puts them in
the receipt, status writes them for A (outputs.json, outputs.env, JUnit XML), outputs prints them."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from cb_helper.pattern import findings
from cb_helper.pattern.outputs import MAX_OUTPUTS, MAX_OUTPUTS_BYTES, env_text, parse_outputs, read_outputs
from cb_helper.pattern.record import RECEIPT_ARTIFACT
from cb_helper.sim import SimServer
from tests.helper.conftest import PROJECT_B, Run, finish_downstream
from tests.helper.test_record_cli import handed_off

DIGEST = "sha256:" + "ab" * 32

# --- the outputs file ----------------------------------------------------------------------------


def test_outputs_are_a_json_object_or_key_value_lines() -> None:
    assert parse_outputs('{"image_digest": "sha256:1", "replicas": 3, "ratio": 0.5, "canary": true}') == {
        "image_digest": "sha256:1",
        "replicas": 3,
        "ratio": 0.5,
        "canary": True,
    }
    assert parse_outputs("# built by B\nVERSION=1.2.3\n\nURL=https://x.test/a?b=c\n") == {
        "VERSION": "1.2.3",
        "URL": "https://x.test/a?b=c",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": ', "not JSON"),
        ('{"image-digest": "x"}', "key 'image-digest' is not usable as a shell variable name"),
        ('{"1st": "x"}', "key '1st' is not usable"),
        ('{"a": {"b": 1}}', "the value of 'a' is an object, not a string, number or boolean"),
        ('{"a": null}', "the value of 'a' is null"),
        ('{"a": "one\\ntwo"}', "holds a control character"),
        ("A=1\nnot a pair\n", "line 2 is not KEY=VALUE"),
        ("A=1\nA=2\n", "key 'A' is given twice"),
        (json.dumps({f"K{i}": i for i in range(MAX_OUTPUTS + 1)}), f"over the cap of {MAX_OUTPUTS}"),
    ],
)
def test_invalid_outputs_say_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        parse_outputs(text)


def test_reading_outputs_never_raises(tmp_path: Path) -> None:
    assert read_outputs(str(tmp_path / "none.json")).status == "missing"
    big = tmp_path / "big.env"
    big.write_text("A=" + "x" * MAX_OUTPUTS_BYTES + "\n")
    too_big = read_outputs(str(big))
    assert too_big.status == "invalid"
    assert f"over the cap of {MAX_OUTPUTS_BYTES}" in str(too_big.error)
    assert read_outputs("").status == "none"


def test_the_env_file_sources_back_to_the_same_values(tmp_path: Path) -> None:
    values: dict[str, Any] = {"tricky": 'it\'s $HOME `x` "q"', "n": 3, "yes": False}
    env = tmp_path / "outputs.env"
    env.write_text(env_text(values, "CB_"))
    shown = subprocess.run(
        ["bash", "-c", f'. "{env}"; printf "%s|%s|%s" "$CB_tricky" "$CB_n" "$CB_yes"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == 'it\'s $HOME `x` "q"|3|false'


# --- B: approve --outputs ----------------------------------------------------------------------


def _prove(sim: SimServer, run: Run, tmp_path: Path, outputs: Path) -> tuple[Any, Any, Path]:
    upstream, _ = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    receipt = tmp_path / "receipt" / "receipt.json"
    result = run(
        "approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id,
        "--receipt", str(receipt), "--prove-only", "--outputs", str(outputs),
    )  # fmt: skip
    return upstream, result, receipt


def test_valid_outputs_travel_in_the_receipt_and_beside_it(sim: SimServer, run: Run, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"image_digest": DIGEST}))
    _, result, receipt = _prove(sim, run, tmp_path, outputs)
    assert result.code == 0, result.output
    assert "warning" not in result.stderr
    assert json.loads(receipt.read_text())["outputs"] == {"status": "valid", "values": {"image_digest": DIGEST}}
    assert json.loads((receipt.parent / "outputs.json").read_text()) == {"image_digest": DIGEST}


def test_invalid_outputs_warn_in_one_line_and_the_circle_back_still_happens(
    sim: SimServer, run: Run, tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text('{"image digest": "x"}')
    upstream, result, receipt = _prove(sim, run, tmp_path, outputs)
    assert result.code == 0, result.output
    [warning] = [line for line in result.stderr.splitlines() if "warning" in line]
    assert "no valid outputs for the upstream" in warning
    assert "key 'image digest' is not usable as a shell variable name" in warning
    data = json.loads(receipt.read_text())
    assert data["outputs"]["status"] == "invalid"
    assert data["outcome"] == "proven"
    assert run("approve", "--from-receipt", str(receipt)).code == 0
    assert sim.state.get_job(upstream.hold_id).status == "success"


# --- A: status and outputs ----------------------------------------------------------------------


def _b_finished(
    sim: SimServer, handoff: dict[str, Any], outputs: Any, statuses: dict[str, str]
) -> tuple[Any, dict[str, int]]:
    """B's workflow with ``statuses`` plus a circle-back job that stored a receipt carrying ``outputs``."""
    [b] = sim.state.pipelines_of(PROJECT_B)
    workflow = finish_downstream(sim, b.id, {**statuses, "circle-back": "success"})
    numbers = {job.name: job.job_number or 0 for job in sim.state.jobs_of(workflow.id)}
    receipt = {"v": 1, "outcome": "approved", "upstream": handoff["record"], "downstream_pipeline_id": b.id}
    if outputs is not None:
        receipt["outputs"] = outputs
    sim.state.add_artifact(PROJECT_B, numbers["circle-back"], RECEIPT_ARTIFACT, content=json.dumps(receipt).encode())
    return b, numbers


def _tests(sim: SimServer, number: int, passed: int, failed: dict[str, str]) -> None:
    for i in range(passed):
        sim.state.add_test_result(PROJECT_B, number, name=f"test_ok_{i}", classname="ok", result="success")
    for name, message in failed.items():
        sim.state.add_test_result(
            PROJECT_B, number, name=name, classname="cart", file="tests/test_cart.py", result="failure", message=message
        )


FAILED = {
    "test_total": "AssertionError: expected 42, got 41\nsecond line",
    "test_refund": "TimeoutError: no answer",
    "test_tax": "KeyError: 'VAT'",
}


def test_status_writes_b_outputs_and_its_failing_tests_from_every_page(
    sim: SimServer, run: Run, tmp_path: Path
) -> None:
    sim.state.page_size = 2  # B's tests come in several pages
    _, handoff = handed_off(sim, run, tmp_path)
    outputs = {"status": "valid", "values": {"image_digest": DIGEST, "replicas": 3}}
    _, numbers = _b_finished(sim, handoff, outputs, {"unit": "success", "integration": "failed"})
    _tests(sim, numbers["unit"], 4, {})
    _tests(sim, numbers["integration"], 1, FAILED)
    out_dir, junit = tmp_path / "outputs", tmp_path / "results" / "b.xml"
    result = run(
        "status", "--handoff-file", str(tmp_path / "handoff.json"),
        "--outputs-dir", str(out_dir), "--junit", str(junit), "--json",
    )  # fmt: skip
    assert result.code == 1, result.output
    data = json.loads(result.stdout)
    assert data["outputs"] == outputs
    assert (data["tests"]["passed"], data["tests"]["failed"]) == (5, 3)
    assert json.loads((out_dir / "outputs.json").read_text()) == {"image_digest": DIGEST, "replicas": 3}
    assert (out_dir / "outputs.env").read_text() == f"CIRCLEBACK_image_digest={DIGEST}\nCIRCLEBACK_replicas=3\n"
    [suite] = ET.parse(junit).getroot()
    assert suite.get("name") == f"{PROJECT_B} integration"
    cases = {str(case.get("name")): case for case in suite.iter("testcase")}
    assert sorted(cases) == sorted(FAILED)
    failure = cases["test_total"].find("failure")
    assert failure is not None
    assert failure.get("message") == FAILED["test_total"]
    job_url = f"/pipelines/github/acme/project-b/1/workflows/{data['workflows'][0]['id']}/jobs/{numbers['integration']}"
    assert job_url in str(failure.text)
    assert cases["test_total"].get("file") == "tests/test_cart.py"


def test_status_lists_the_first_failing_tests_in_plain_whole_lines(sim: SimServer, run: Run, tmp_path: Path) -> None:
    _, handoff = handed_off(sim, run, tmp_path)
    _, numbers = _b_finished(sim, handoff, None, {"integration": "failed"})
    _tests(sim, numbers["integration"], 0, FAILED)
    result = run("status", "--handoff-file", str(tmp_path / "handoff.json"))
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert "project-b: 3 failing tests:" in lines
    assert "  integration: test_total (tests/test_cart.py): AssertionError: expected 42, got 41" in lines
    assert f"{PROJECT_B} sent no outputs" in lines
    assert any(line.startswith("    failed job: integration (failed)  ") and "/jobs/" in line for line in lines)
    assert len(lines) < 25


def test_status_stops_collecting_at_the_cap_and_says_so(
    sim: SimServer, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(findings, "MAX_FAILURES", 2)
    _, handoff = handed_off(sim, run, tmp_path)
    _, numbers = _b_finished(sim, handoff, None, {"integration": "failed"})
    _tests(sim, numbers["integration"], 0, FAILED)
    junit = tmp_path / "b.xml"
    result = run("status", "--handoff-file", str(tmp_path / "handoff.json"), "--junit", str(junit))
    assert "project-b: at least 2 failing tests:" in result.stdout
    assert len(list(ET.parse(junit).getroot().iter("testcase"))) == 2


def test_a_passing_b_is_one_line_and_invalid_outputs_are_reported(sim: SimServer, run: Run, tmp_path: Path) -> None:
    _, handoff = handed_off(sim, run, tmp_path)
    invalid = {"status": "invalid", "values": {}, "error": "outputs.json: not JSON (Expecting value at character 0)"}
    _, numbers = _b_finished(sim, handoff, invalid, {"unit": "success", "lint": "success"})
    _tests(sim, numbers["unit"], 147, {})
    _tests(sim, numbers["lint"], 1, {})
    out_dir = tmp_path / "outputs"
    result = run("status", "--handoff-file", str(tmp_path / "handoff.json"), "--outputs-dir", str(out_dir))
    assert result.code == 0, result.output
    assert "project-b: 1 workflow succeeded, 148 tests passed" in result.stdout.splitlines()
    assert f"{PROJECT_B} sent no valid outputs: outputs.json: not JSON" in result.stdout
    assert json.loads((out_dir / "outputs.json").read_text()) == {}
    assert (out_dir / "outputs.env").read_text() == ""


def test_receipt_values_are_checked_again_in_a(sim: SimServer, run: Run, tmp_path: Path) -> None:
    """A receipt is B's word: values that would not have passed B's own check are not handed to A."""
    _, handoff = handed_off(sim, run, tmp_path)
    forged = {"status": "valid", "values": {"PATH; rm -rf /": "x"}}
    _b_finished(sim, handoff, forged, {"unit": "success"})
    result = run("status", "--handoff-file", str(tmp_path / "handoff.json"), "--json")
    assert json.loads(result.stdout)["outputs"]["status"] == "invalid"


def test_outputs_prints_the_values_on_their_own(sim: SimServer, run: Run, tmp_path: Path) -> None:
    _, handoff = handed_off(sim, run, tmp_path)
    b, _ = _b_finished(sim, handoff, {"status": "valid", "values": {"image_digest": DIGEST}}, {"unit": "success"})
    as_json = run("outputs", "--pipeline-id", b.id)
    assert as_json.code == 0, as_json.output
    assert json.loads(as_json.stdout) == {"image_digest": DIGEST}
    as_env = run("outputs", "--handoff-file", str(tmp_path / "handoff.json"), "--format", "env", "--env-prefix", "B_")
    assert as_env.stdout == f"B_image_digest={DIGEST}\n"


def test_outputs_of_a_pipeline_without_receipt_is_exit_3(sim: SimServer, run: Run) -> None:
    b = sim.state.create_pipeline(PROJECT_B, branch="main")
    finish_downstream(sim, b.id, {"unit": "success"})
    result = run("outputs", "--pipeline-id", b.id)
    assert result.code == 3
    assert f"pipeline {b.id} has no circle-back receipt" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "give exactly one of --pipeline-id and --handoff-file"),
        (["--pipeline-id", "nope"], "--pipeline-id"),
        (["--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--env-prefix", "9X"], "--env-prefix '9X'"),
    ],
)
def test_outputs_bad_input_is_exit_2_before_any_request(
    sim: SimServer, run: Run, args: list[str], expected: str
) -> None:
    result = run("outputs", *args)
    assert result.code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sim.state.request_log == []


def test_status_bad_env_prefix_is_exit_2_before_any_request(sim: SimServer, run: Run) -> None:
    result = run("status", "--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--env-prefix", "A-B")
    assert result.code == 2
    assert "--env-prefix 'A-B' cannot start a shell variable name" in result.stderr
    assert sim.state.request_log == []
