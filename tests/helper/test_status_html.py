"""``cb-helper status --html``: the circleback on one page, from the API (the simulator, over HTTP)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from cb_helper.pattern.report_html import duration, layout, render_page
from cb_helper.sim import SimServer
from tests.helper.conftest import HOLD, PROJECT_A, PROJECT_B, Run
from tests.helper.test_outputs_cli import DIGEST, _b_finished, _tests
from tests.helper.test_record_cli import handed_off

EVIL = "<script>document.title='ran'</script><img src=x onerror=alert(1)>"


class _Page(HTMLParser):
    """The page's text, its tags, and the targets of its links."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links.extend(value or "" for name, value in attrs if tag == "a" and name == "href")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _read(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_the_page_draws_a_and_b_and_escapes_what_b_wrote(sim: SimServer, run: Run, tmp_path: Path) -> None:
    upstream, handoff = handed_off(sim, run, tmp_path)
    outputs = {"status": "valid", "values": {"image_digest": DIGEST, "note": EVIL}}
    _, numbers = _b_finished(sim, handoff, outputs, {"unit": "success", "integration": "failed"})
    _tests(sim, numbers["integration"], 1, {"test_total": EVIL, "<b>test_named</b>": "plain"})
    sim.state.approve_job(upstream.workflow_id, upstream.hold_id)
    sim.state.set_job_status(upstream.jobs["check"], "running")
    page_file = tmp_path / "report" / "report.html"
    result = run("status", "--handoff-file", str(tmp_path / "handoff.json"), "--html", str(page_file))
    assert result.code == 1, result.output
    assert f"the circleback on one page: {page_file}" in result.stderr
    page = _read(page_file)
    text = "".join(page.text)
    assert set(page.tags) <= {"html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "h3",
                              "p", "section", "span", "dl", "dt", "dd", "div", "ol", "li", "a", "table", "thead",
                              "tbody", "tr", "th", "td", "pre", "code", "details", "summary", "footer"}  # fmt: skip
    for name in ("trigger", HOLD, "check", "unit", "integration", "circle-back"):
        assert name in text, name
    assert EVIL in text  # as text, whole, in the failing test's message and in the outputs
    assert text.count(EVIL) == 2
    assert "<b>test_named</b>" in text
    assert f"A: {PROJECT_A} #1" in text
    assert f"B: {PROJECT_B} #1" in text
    assert "gh/acme/project-b circled back: failed" in text  # why A was released
    assert handoff["record"]["deadline"] in text
    assert "B circled back: A's hold approved" in text
    assert "A's check started" in text
    assert "waiting for the circle-back; an approval job bills nothing" in text
    assert DIGEST in text
    b_jobs = [link for link in page.links if "/pipelines/github/acme/project-b/1/workflows/" in link]
    assert any(link.endswith(f"/jobs/{numbers['integration']}") for link in b_jobs)
    a_jobs = [link for link in page.links if "/pipelines/github/acme/project-a/1/workflows/" in link]
    assert any(link.endswith("/jobs/1") for link in a_jobs)  # A's trigger job


def test_html_without_a_handoff_draws_b_alone(sim: SimServer, run: Run, tmp_path: Path) -> None:
    _, handoff = handed_off(sim, run, tmp_path)
    _b_finished(sim, handoff, None, {"unit": "success"})
    page_file = tmp_path / "b.html"
    result = run("status", "--pipeline-id", handoff["downstream_pipeline_id"], "--html", str(page_file))
    assert result.code == 0, result.output
    text = "".join(_read(page_file).text)
    assert f"B: {PROJECT_B} #1" in text
    assert "A: " not in text


def test_an_html_path_that_is_a_directory_is_refused_before_any_request(
    sim: SimServer, run: Run, tmp_path: Path
) -> None:
    sim.state.clear_request_log()
    result = run("status", "--pipeline-id", "5034460f-c7c4-4c43-9457-de07e2029e7b", "--html", str(tmp_path))
    assert result.code == 2
    assert sim.state.request_log == []


def test_the_axis_places_each_job_and_durations_read_well() -> None:
    page = {
        "title": "t",
        "verdict": {"status": "success", "text": "ok"},
        "now": 40.0,
        "lanes": [
            {
                "title": "A",
                "status": "success",
                "rows": [
                    {
                        "workflow": "w",
                        "job": "build",
                        "kind": "build",
                        "status": "success",
                        "start": 10.0,
                        "stop": 20.0,
                    },
                    {
                        "workflow": "w",
                        "job": "hold",
                        "kind": "approval",
                        "status": "on_hold",
                        "start": 20.0,
                        "stop": None,
                    },
                    {
                        "workflow": "w",
                        "job": "later",
                        "kind": "build",
                        "status": "blocked",
                        "start": None,
                        "stop": None,
                    },
                ],
            }
        ],
        "markers": [{"at": 30.0, "label": "m"}],
    }
    placed = layout(page)
    build, hold, later = placed["lanes"][0]["rows"]
    assert (build["left"], build["width"], build["seconds"]) == (25.0, 25.0, 10.0)
    assert (hold["left"], hold["width"], hold["open"]) == (50.0, 50.0, True)  # still waiting: up to now
    assert later["left"] is None
    assert placed["markers"][0]["left"] == 75.0
    assert [tick["label"] for tick in placed["ticks"]] == ["0.0 s", "10 s", "20 s", "30 s", "40 s"]
    assert [duration(s) for s in (0.04, 9.96, 59.4, 61, 3600, 3725)] == [
        "0.0 s", "10.0 s", "59 s", "1 min 1 s", "1 h", "1 h 2 min"
    ]  # fmt: skip
    html = render_page(page)
    assert 'style="left: 25.0%; width: 25.0%"' in html
    assert "so far" in html
    assert "not started" in html
