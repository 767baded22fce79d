"""docs/simulator.md's table of SimState calls matches the calls: their positional parameters, and the name of
every keyword it shows (``add_project`` with all of them)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from cb_helper.sim import SimState

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def documented_calls() -> dict[str, list[str]]:
    """``{method: [arguments as shown]}`` for every ``name(...)`` in the first column of the table."""
    section = DOC.read_text(encoding="utf-8").split("## Driving the state", 1)[1].split("\n## ", 1)[0]
    calls: dict[str, list[str]] = {}
    for row in re.findall(r"^\| (.+?) \| .+ \|$", section, flags=re.MULTILINE):
        for name, arguments in re.findall(r"`(\w+)\(([^`]*)\)`", row):
            # Defaults and examples may hold commas (``branches=("main",)``): make each bracketed part one word.
            flat = re.sub(r"\([^()]*\)|\[[^\]]*\]", "x", arguments)
            calls[name] = [a.strip() for a in flat.split(",") if a.strip() not in ("", "...")]
    return calls


def parameters(name: str) -> tuple[int, set[str], list[str]]:
    """How many positional parameters, the names a keyword may use, and the keyword-only names."""
    signature = [p for p in inspect.signature(getattr(SimState, name)).parameters.values() if p.name != "self"]
    positional = [p for p in signature if p.kind == p.POSITIONAL_OR_KEYWORD]
    keywords = {p.name for p in signature if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return len(positional), keywords, [p.name for p in signature if p.kind == p.KEYWORD_ONLY]


def test_the_table_documents_the_calls_tests_use() -> None:
    assert {"add_project", "create_pipeline", "add_job", "set_job_status", "approve_job"} <= set(documented_calls())


def test_every_documented_call_takes_the_arguments_shown() -> None:
    wrong = {}
    for name, shown in documented_calls().items():
        count, keywords, _ = parameters(name)
        positional = [a for a in shown if "=" not in a]
        named = {a.split("=")[0] for a in shown if "=" in a}
        if len(positional) != count or not named <= keywords:
            wrong[name] = shown
    assert wrong == {}


def test_add_project_is_shown_with_every_keyword() -> None:
    shown = documented_calls()["add_project"]
    assert [a.split("=")[0] for a in shown if "=" in a] == parameters("add_project")[2]
