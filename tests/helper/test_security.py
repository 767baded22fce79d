"""docs/security.md names a test for every row of its threat model; these are the rows' own tests, and the check
that every test it names exists."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from functools import cache
from pathlib import Path

from cb_helper.pattern.record import RECEIPT_ARTIFACT
from cb_helper.sim import SimServer
from tests.helper.conftest import PROJECT_A, PROJECT_B, SENTINEL, Run, finish_downstream
from tests.helper.test_record_cli import handed_off

ROOT = Path(__file__).resolve().parents[2]
SECURITY = ROOT / "docs" / "security.md"
#: A test as the doc names it: ``tests/dir/file.py::test_name``.
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


@cache
def _defined(path: str) -> frozenset[str]:
    """The names of the top-level test functions of a test file (empty when it does not exist)."""
    file = ROOT / path
    if not file.is_file():
        return frozenset()
    tree = ast.parse(file.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
    )


def problems(text: str) -> list[str]:
    """What is wrong with a threat model: a table row naming no test, or a named test that does not exist."""
    found = []
    lines = text.splitlines()
    separator = re.compile(r"^\|[\s|:-]+\|$")
    for index, line in enumerate(lines):
        header = index + 1 < len(lines) and bool(separator.match(lines[index + 1]))
        if line.startswith("|") and not header and not separator.match(line) and not REFERENCE.search(line):
            found.append(f"a row names no test: {line[:80]}")
    for path, name in REFERENCE.findall(text):
        if name not in _defined(path):
            found.append(f"no test {path}::{name}")
    return found


def test_every_row_of_the_threat_model_names_tests_that_exist() -> None:
    """(d) every row names at least one test, and every test docs/security.md names is defined where it says."""
    text = SECURITY.read_text(encoding="utf-8")
    assert problems(text) == []
    named = REFERENCE.findall(text)
    assert len(named) >= 20
    assert ("tests/helper/test_security.py", "test_every_row_of_the_threat_model_names_tests_that_exist") in named
    for who in ("trigger B", "push a branch to A", "push a branch to B", "swept project", "B's token", "sweeper's"):
        assert who in text, who


def test_the_check_finds_a_missing_test_and_a_row_without_one() -> None:
    table = (
        "| who | could | stops it | tests |\n|---|---|---|---|\n"
        "| a | b | c | `tests/helper/test_security.py::test_no_such_test` |\n"
        "| a | b | c | none |\n"
        "| a | b | c | `tests/helper/nowhere.py::test_every_row_of_the_threat_model_names_tests_that_exist` |\n"
    )
    assert problems(table) == [
        "a row names no test: | a | b | c | none |",
        "no test tests/helper/test_security.py::test_no_such_test",
        "no test tests/helper/nowhere.py::test_every_row_of_the_threat_model_names_tests_that_exist",
    ]


def test_no_record_handoff_receipt_or_sweep_output_carries_the_token(sim: SimServer, run: Run, tmp_path: Path) -> None:
    """What lands in artifacts and logs (the record B is passed, the handoff, the receipt, every line) has ids only."""
    sim.state.add_token(SENTINEL)
    env = {"CIRCLE_TOKEN": SENTINEL}
    upstream, handoff = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    receipt = tmp_path / "receipt.json"
    outputs = tmp_path / "outputs.json"
    outputs.write_text('{"image_digest": "sha256:0f"}')
    results = [
        run(
            "--debug", "approve", "--upstream", b.parameters["circleback"], "--downstream-pipeline-id", b.id,
            "--receipt", str(receipt), "--prove-only", "--outputs", str(outputs), env=env,
        ),
        run("--debug", "approve", "--from-receipt", str(receipt), env=env),
        run("--debug", "sweep", "--project", PROJECT_A, "--cancel-project", PROJECT_B, "--json", env=env),
        run("--debug", "status", "--handoff-file", str(tmp_path / "handoff.json"), "--json", env=env),
    ]  # fmt: skip
    assert [r.code for r in results][:2] == [0, 0], [r.output for r in results]
    for result in results:
        assert SENTINEL not in result.output
    assert sim.state.get_job(upstream.hold_id).status == "success"
    for text in (json.dumps(handoff), b.parameters["circleback"], receipt.read_text()):
        assert SENTINEL not in text
        assert sim.token not in text  # the token the trigger ran with
    for record in sim.state.request_log:
        assert SENTINEL not in record.path
        assert SENTINEL not in json.dumps(record.query)


def test_an_output_named_like_a_variable_of_a_reaches_a_only_under_the_prefix(
    sim: SimServer, run: Run, tmp_path: Path
) -> None:
    """B's receipt names PATH, BASH_ENV and LD_PRELOAD; A's later steps get CIRCLEBACK_PATH and the like, only."""
    _, handoff = handed_off(sim, run, tmp_path)
    [b] = sim.state.pipelines_of(PROJECT_B)
    workflow = finish_downstream(sim, b.id, {"tests": "success", "circle-back": "success"})
    [number] = [job.job_number for job in sim.state.jobs_of(workflow.id) if job.name == "circle-back"]
    assert number is not None
    values = {"PATH": "/evil/bin", "BASH_ENV": "/evil/env", "LD_PRELOAD": "/evil.so"}
    receipt = {
        "v": 1,
        "outcome": "approved",
        "upstream": handoff["record"],
        "downstream_pipeline_id": b.id,
        "outputs": {"status": "valid", "values": values},
    }
    sim.state.add_artifact(PROJECT_B, number, RECEIPT_ARTIFACT, content=json.dumps(receipt).encode())
    out = tmp_path / "outputs"
    result = run("status", "--handoff-file", str(tmp_path / "handoff.json"), "--outputs-dir", str(out))
    assert result.code == 0, result.output
    # What the orb's check_status does with the file: export each line to the later steps through $BASH_ENV.
    script = (
        f"sed 's/^/export /' {out / 'outputs.env'} > {tmp_path / 'bash_env'}; "
        f"PATH=/usr/bin:/bin; unset BASH_ENV LD_PRELOAD; . {tmp_path / 'bash_env'}; "
        'printf "%s|%s|%s|%s" "$PATH" "${BASH_ENV-unset}" "${LD_PRELOAD-unset}" "$CIRCLEBACK_PATH"'
    )
    shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    assert shown == "/usr/bin:/bin|unset|unset|/evil/bin"
    assert all(line.startswith("CIRCLEBACK_") for line in (out / "outputs.env").read_text().splitlines())
