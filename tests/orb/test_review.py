"""RC001-RC012: the real orb passes every rule, and each rule fails a source crafted against it."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.orbkit.bundle import ORB_SRC
from tools.orbkit.review import Review, RuleResult


def results(source: Path, **options: object) -> dict[str, RuleResult]:
    return {r.code: r for r in Review(source, **options).run()}  # type: ignore[arg-type]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    target = tmp_path / "src"
    shutil.copytree(ORB_SRC, target, ignore=shutil.ignore_patterns("helper_bundle.sh"))
    return target


def test_real_orb_passes_every_rule_with_no_exclusions() -> None:
    outcome = results(ORB_SRC, orb_alias="circleback", tag="v0.1.0")
    assert [code for code, r in outcome.items() if not r.passed] == []
    assert {code for code, r in outcome.items() if r.skipped} == {"RC006", "RC007"}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


CASES = [
    ("RC001", lambda s: edit(s / "@orb.yml", "  source_url:", "  other_url:")),
    ("RC002", lambda s: edit(s / "commands" / "check_status.yml", "description: >", "summary: >")),
    ("RC003", lambda s: shutil.rmtree(s / "examples")),
    ("RC004", lambda s: (s / "examples" / "fan_out_to_two_projects.yml").rename(s / "examples" / "example.yml")),
    (
        "RC005",
        lambda s: (s / "@orb.yml").write_text("version: 2.1\ndescription: Too short.\ndisplay:\n  source_url: x\n"),
    ),
    ("RC008", lambda s: edit(s / "commands" / "check_status.yml", "      name: Check the downstream pipeline\n", "")),
    (
        "RC009",
        lambda s: edit(s / "commands" / "check_status.yml", "<<include(scripts/check_status.sh)>>", "echo " + "x" * 80),
    ),
    ("RC010", lambda s: (s / "jobs" / "circle_back.yml").rename(s / "jobs" / "circle-back.yml")),
    ("RC010", lambda s: edit(s / "jobs" / "circle_back.yml", "  job_name:", "  job-name:")),
    ("RC011", lambda s: edit(s / "examples" / "circleci_server_host.yml", "circleback@0.1", "circleback@1.0")),
    (
        "RC012",
        lambda s: (s / "commands" / "cache.yml").write_text(
            "description: d\nparameters:\n  region:\n    type: string\n    default: $AWS_REGION\n"
            "steps:\n  - save_cache:\n      key: v1-<< parameters.region >>\n      paths: [x]\n"
        ),
    ),
]


@pytest.mark.parametrize(("code", "break_it"), CASES)
def test_each_rule_fails_its_crafted_source(source: Path, code: str, break_it) -> None:  # type: ignore[no-untyped-def]
    break_it(source)
    outcome = results(source, orb_alias="circleback", tag="v0.3.0")
    failed = [c for c, r in outcome.items() if not r.passed]
    assert failed == [code], {c: outcome[c].problems for c in failed}


def test_rc011_needs_a_release_tag(source: Path) -> None:
    edit(source / "examples" / "circleci_server_host.yml", "circleback@0.1", "circleback@1.0")
    assert results(source, orb_alias="circleback", tag="").get("RC011").skipped  # type: ignore[union-attr]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ok" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        del args


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_rc006_rc007_fetch_the_urls_when_asked(source: Path, server: str) -> None:
    (source / "@orb.yml").write_text(
        f"version: 2.1\ndescription: {'d' * 70}\ndisplay:\n  source_url: {server}/ok\n  home_url: {server}/gone\n"
    )
    outcome = results(source, network=True)
    assert outcome["RC006"].passed
    assert not outcome["RC007"].passed
    assert "HTTP Error 404" in outcome["RC007"].problems[0]
