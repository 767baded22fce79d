"""The circleback on one page, read in a real browser: A's check stores circleback/report.html, and nothing B
wrote (test names, messages, outputs) is ever markup there.

The demo's failing scenario runs end to end (the orb as it ships, the real cb-helper in every step), with B's
test message and output replaced by markup that would change the page if it ran: a script that renames the
document and an image whose onerror marks the body. Chromium's ``--dump-dom`` shows the DOM after the page's
scripts ran; a control page holding the same markup raw proves that this browser does run them.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from cb_helper.rehearse.engine import Rehearsal
from tests.e2e.browser import dump_dom
from tools import demo

TITLE_MARK = "XSS-SCRIPT-RAN"
PAYLOAD = (
    f"<script>document.title='{TITLE_MARK}'</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-xss','onerror-ran')\">"
)
OUTPUT_PAYLOAD = "<img src=x onerror=document.body.setAttribute('data-xss','output-ran')>"
BOLD_TEST = "<b>test_bold_name</b>"


def _failing_b(root: Path, orb: dict[str, object]) -> dict[str, Path]:
    """The demo's failing scenario, B's messages and output replaced by the payloads."""
    projects = demo._projects(orb, demo.SCENARIOS[1], root)
    b_dir = root / "project-b"
    cases = (
        f'<testcase name="test_total_includes_tax" classname="cart" file="tests/test_cart.py">'
        f"<failure message={quoteattr(PAYLOAD)}>{PAYLOAD.replace('<', '&lt;')}</failure></testcase>"
        f'<testcase name={quoteattr(BOLD_TEST)} classname="cart"><failure message="plain"/></testcase>'
    )
    (b_dir / "run-tests.sh").write_text(
        "#!/usr/bin/env bash\n"
        'suite="${1:-all}"\nmkdir -p test-results\n'
        'if [ "$suite" = integration ]; then\n'
        '  echo \'<testsuite name="integration"><testcase name="test_smoke" classname="smoke"/></testsuite>\''
        ' > "test-results/$suite.xml"\n  exit 0\nfi\n'
        f'cat > "test-results/$suite.xml" <<\'XML\'\n<testsuite name="unit">{cases}</testsuite>\nXML\n'
        "exit 1\n",
        encoding="utf-8",
    )
    (b_dir / "build-image.sh").write_text(f"#!/usr/bin/env bash\ncat <<'EOF'\n{OUTPUT_PAYLOAD}\nEOF\n")
    return projects


@pytest.fixture(scope="module")
def check_page(packed_orb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A's check's artifact circleback/report.html, after B failed with the payloads."""
    root = tmp_path_factory.mktemp("report")
    orb = demo._orb(packed_orb)
    contexts: dict[str, dict[str, str]] = {"circleci-api": {}, "production-deploy": {}}
    with Rehearsal(_failing_b(root, orb), orbs={"circleback": orb}, contexts=contexts) as run:
        run.start(demo.A)
        result = run.run_until_settled(120)
        assert result.pipeline(demo.A).job(demo.CHECK).status == "failed"
        check = result.pipeline(demo.A).job(demo.CHECK)
        stored = run.workdir / "artifacts" / "gh" / "acme" / "project-a" / str(check.number) / "circleback"
        page = root / "report.html"
        page.write_bytes((stored / "report.html").read_bytes())
    return page


def test_the_check_stores_one_self_contained_page(check_page: Path) -> None:
    html = check_page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # Nothing to load: no scripts, stylesheets, images or frames of any origin.
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html, re.IGNORECASE)
    assert not re.search(r"<[^>]*\bsrc\s*=", html, re.IGNORECASE)  # as an attribute (B's text says src=x)
    assert "url(" not in html


def test_the_browser_shows_every_job_test_and_output(check_page: Path) -> None:
    dom = dump_dom(check_page)
    for job in ("trigger-project-b", "wait-for-triggered-pipeline", "check-project-b", "deploy"):
        assert f">{job}<" in dom, job
    for job in ("build-image", "unit-tests", "integration-tests", "circleback/circle_back"):
        assert f">{job}<" in dom, job
    assert ">test_total_includes_tax<" in dom
    assert "&lt;b&gt;test_bold_name&lt;/b&gt;" in dom  # a test named with markup, shown as its name
    assert "image_digest" in dom
    assert "B circled back: A's hold approved" in dom
    assert "gh/acme/project-b circled back: failed" in dom  # why A was released
    assert re.search(
        r'href="http://127\.0\.0\.1:\d+/pipelines/github/acme/project-b/1/workflows/[0-9a-f-]+/jobs/\d+"', dom
    )
    assert 'class="bar tone-hold approval' in dom  # the hold drawn as a wait
    assert "an approval job bills nothing" in dom
    for word, tone in (("success", "good"), ("failed", "bad")):  # status words, not only colour
        assert f'<span class="word tone-{tone}">{word}</span>' in dom, word


def test_markup_from_b_is_text_and_runs_nothing(check_page: Path, tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text(f"<!DOCTYPE html><html><head><title>control</title></head><body>{PAYLOAD}</body></html>")
    ran = dump_dom(control)
    assert f"<title>{TITLE_MARK}</title>" in ran  # this browser runs a page's scripts...
    assert 'data-xss="onerror-ran"' in ran  # ...and its onerror handlers

    dom = dump_dom(check_page)
    assert "&lt;script&gt;document.title='XSS-SCRIPT-RAN'&lt;/script&gt;&lt;img src=x onerror=" in dom
    assert "&lt;img src=x onerror=document.body.setAttribute('data-xss','output-ran')&gt;" in dom
    assert TITLE_MARK not in re.search(r"<title>(.*?)</title>", dom, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert "data-xss=" not in dom
    assert not re.search(r"<(script|img)\b", dom, re.IGNORECASE)
