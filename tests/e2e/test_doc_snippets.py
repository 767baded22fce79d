"""Every CircleCI config shown in README.md and docs/*.md rehearses as shown, with the README's own command.

Snippets are found, not listed: each ```yaml block with a ``version`` key is a config. In a document, a config
that names a ``project_slug`` triggers a downstream (an upstream, project A); every other config is a
downstream (project B) and is rehearsed with the nearest upstream shown before it (or the first one). Each
upstream is rehearsed at least once. The rehearsal is ``cb-helper rehearse --orb circleback=<packed orb>
--context circleci-api --project A=<dir> --project B=<dir>``, as the README shows it; it must exit 0 with every
pipeline successful. The projects' directories hold the config and the test script the snippets call
(``run-tests.sh``, which passes).
"""

from __future__ import annotations

import fcntl
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
UPSTREAM_SLUG = "gh/acme/project-a"
#: The orb's default workspace_root is one directory on this machine: rehearsals of the snippets as shown
#: take turns (the end-to-end tests give theirs a directory of their own).
LOCK = Path("/tmp/circleback-doc-snippets.lock")


@dataclass(frozen=True)
class Snippet:
    document: str
    line: int
    text: str

    @property
    def config(self) -> dict[str, Any]:
        loaded = yaml.safe_load(self.text)
        assert isinstance(loaded, dict), self
        return loaded

    def __str__(self) -> str:
        return f"{self.document}:{self.line}"


def configs_in(path: Path) -> list[Snippet]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^```ya?ml\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        block = match.group(1)
        loaded = yaml.safe_load(block)
        if isinstance(loaded, dict) and "version" in loaded:
            found.append(Snippet(str(path.relative_to(ROOT)), text.count("\n", 0, match.start()) + 2, block))
    return found


def triggered_slugs(value: object) -> list[str]:
    """Every ``project_slug`` argument in a config, in order."""
    if isinstance(value, dict):
        own = [str(v) for k, v in value.items() if k == "project_slug"]
        return own + [slug for v in value.values() for slug in triggered_slugs(v)]
    if isinstance(value, list):
        return [slug for item in value for slug in triggered_slugs(item)]
    return []


def rehearsals() -> Iterator[tuple[Snippet, list[tuple[str, Snippet]]]]:
    """(id snippet, [(slug, snippet), ...]) for every rehearsal the documents call for."""
    for document in DOCUMENTS:
        snippets = configs_in(document)
        upstreams = [s for s in snippets if triggered_slugs(s.config)]
        downstreams = [s for s in snippets if not triggered_slugs(s.config)]
        used = set()
        for snippet in downstreams:
            if not upstreams:
                yield snippet, [(UPSTREAM_SLUG, snippet)]
                continue
            before = [u for u in upstreams if u.line < snippet.line]
            upstream = before[-1] if before else upstreams[0]
            used.add(upstream)
            yield snippet, [(UPSTREAM_SLUG, upstream), (triggered_slugs(upstream.config)[0], snippet)]
        for upstream in upstreams:
            if upstream not in used:
                partner = [(triggered_slugs(upstream.config)[0], downstreams[0])] if downstreams else []
                yield upstream, [(UPSTREAM_SLUG, upstream), *partner]


REHEARSALS = list(rehearsals())


def test_the_documents_show_configs_to_rehearse() -> None:
    shown = {str(s) for s in (snippet for _, projects in REHEARSALS for _, snippet in projects)}
    assert any(name.startswith("README.md:") for name in shown), shown
    assert any(name.startswith("docs/orb.md:") for name in shown), shown
    every = {str(s) for document in DOCUMENTS for s in configs_in(document)}
    assert shown == every


@pytest.mark.slow
@pytest.mark.parametrize(("snippet", "projects"), REHEARSALS, ids=[str(s) for s, _ in REHEARSALS])
def test_a_config_snippet_rehearses_as_shown(
    snippet: Snippet, projects: list[tuple[str, Snippet]], packed_orb: Path, tmp_path: Path
) -> None:
    arguments = []
    for slug, shown in projects:
        project = tmp_path / slug.rsplit("/", 1)[1]
        (project / ".circleci").mkdir(parents=True)
        (project / ".circleci" / "config.yml").write_text(shown.text, encoding="utf-8")
        script = project / "run-tests.sh"
        script.write_text("#!/bin/sh\necho 'the tests passed'\n", encoding="utf-8")
        script.chmod(0o755)
        arguments += ["--project", f"{slug}={project}"]
    if "pipeline.trigger.type" in snippet.text:  # a config for a schedule runs as a scheduled pipeline
        arguments += ["--trigger-type", "schedule"]
    command = [str(Path(sys.executable).parent / "cb-helper"), "rehearse", "--orb", f"circleback={packed_orb}",
               "--context", "circleci-api", *arguments, "--timeout", "120", "--json"]  # fmt: skip
    LOCK.touch(exist_ok=True)
    with LOCK.open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"{snippet} with {[str(s) for _, s in projects]}:\n{result.stderr}"
    report = yaml.safe_load(result.stdout)
    assert report["outcome"] == "settled", report
    assert len(report["pipelines"]) == len(projects)
    for pipeline in report["pipelines"]:
        assert [w["status"] for w in pipeline["workflows"]] == ["success"], pipeline


def python_block(path: Path, needle: str) -> str:
    text = path.read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL) if needle in b]
    assert len(blocks) == 1, f"{path.name}: {len(blocks)} python blocks with {needle!r}"
    return str(blocks[0])


@pytest.mark.slow
def test_the_python_example_of_rehearse_md_runs_as_shown(
    packed_orb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/rehearse.md's example, run where it says: orb.md's configs in a/ and b/, the orb in dist/orb.yml."""
    orb_page = ROOT / "docs" / "orb.md"
    shown = configs_in(orb_page)
    upstream = next(s for s in shown if triggered_slugs(s.config))
    downstream = next(s for s in shown if not triggered_slugs(s.config))
    for name, snippet in (("a", upstream), ("b", downstream)):
        (tmp_path / name / ".circleci").mkdir(parents=True)
        (tmp_path / name / ".circleci" / "config.yml").write_text(snippet.text, encoding="utf-8")
    script = tmp_path / "b" / "run-tests.sh"
    script.write_text("#!/bin/sh\necho 'the tests passed'\n", encoding="utf-8")
    script.chmod(0o755)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "orb.yml").write_text(packed_orb.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    LOCK.touch(exist_ok=True)
    with LOCK.open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        exec(compile(python_block(ROOT / "docs" / "rehearse.md", "Rehearsal("), "rehearse.md", "exec"), namespace)
    result = namespace["result"]
    assert result.outcome == "settled"
    assert result.pipeline("gh/acme/project-b").workflow().status == "success"
    assert result.pipeline("gh/acme/project-a").job("check-project-b").status == "success"
    assert result.billable_while_waiting("gh/acme/project-a") == 0.0
