"""Benchmarks: print figures for start-up, pagination, API calls, approve on a WAN, install and the orb's
footprint (``make bench``).

Figures, not assertions: nothing here fails on a slow machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from cb_helper.api.auth import Token
from cb_helper.api.client import CircleCIClient
from cb_helper.pattern.approve import find_job
from cb_helper.sim import SimServer, SimState


def startup(runs: int = 10) -> None:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cb_helper", "--version"], check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    modules = subprocess.run(
        [sys.executable, "-c", "import sys; import cb_helper.cli; print(len(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"cb-helper --version: median {statistics.median(timings) * 1000:.0f} ms over {runs} runs; {modules} modules")
    jinja = subprocess.run(
        [sys.executable, "-c", "import sys; import cb_helper.cli; print('jinja2' in sys.modules)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"  Jinja2 imported by cb_helper.cli: {jinja} (only a command that writes a page imports it)")


def report_page(jobs: int = 60, runs: int = 5) -> None:
    """Writing the HTML page: importing Jinja2 and rendering a page of ``jobs`` jobs and as many failing tests."""
    started = time.perf_counter()
    from cb_helper.pattern.report_html import render_page

    rows = [
        {"workflow": "w", "job": f"job-{i}", "kind": "build", "status": "failed" if i % 7 == 0 else "success",
         "start": float(i), "stop": float(i) + 3.5, "url": f"https://app.circleci.com/jobs/{i}"}
        for i in range(jobs)
    ]  # fmt: skip
    tests = [
        {"project": "gh/b/c", "job": f"job-{i}", "name": f"test_{i}", "classname": "c", "file": "t.py",
         "message": "<script>x</script> " * 20, "url": None}
        for i in range(jobs)
    ]  # fmt: skip
    page = {"title": "t", "verdict": {"status": "failed", "text": "t"}, "now": float(jobs) + 4,
            "lanes": [{"title": "B", "status": "failed", "rows": rows}], "failed_tests": tests}  # fmt: skip
    first = render_page(page)
    cold = time.perf_counter() - started
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        render_page(page)
        timings.append(time.perf_counter() - started)
    print(
        f"HTML page of {jobs} jobs and {jobs} failing tests: {len(first) / 1024:.0f} KiB; first (import + compile) "
        f"{cold * 1000:.0f} ms, then median {statistics.median(timings) * 1000:.0f} ms"
    )


def pagination(jobs: int = 2000, page_size: int = 20) -> None:
    state = SimState(page_size=page_size)
    state.add_project("gh/bench/project")
    pipeline = state.create_pipeline("gh/bench/project")
    workflow = state.add_workflow(pipeline.id, "big")
    for i in range(jobs):
        state.add_job(workflow.id, f"job-{i:05d}")
    with SimServer(state) as server:
        client = CircleCIClient(server.url, Token(server.token, "CIRCLE_TOKEN"))
        path = f"/workflow/{workflow.id}/job"
        started = time.perf_counter()
        count = sum(1 for _ in client.paginate(path))
        elapsed = time.perf_counter() - started
        tracemalloc.start()
        sum(1 for _ in client.paginate(path))  # streamed: one page in memory at a time
        _, streamed_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        pages = -(-jobs // page_size)
        print(
            f"paginate {count} jobs in {pages} pages: {elapsed:.2f} s, {count / elapsed:.0f} items/s, "
            f"{elapsed / pages * 1000:.1f} ms/page; peak {streamed_peak / 1024:.0f} KiB traced while streaming"
        )
        state.clear_request_log()
        started = time.perf_counter()
        job, _ = find_job(client, workflow.id, f"job-{jobs // 2:05d}")
        elapsed = time.perf_counter() - started
        calls = len(state.request_log)
        found = job is not None
        print(f"find a job in the middle: {elapsed * 1000:.0f} ms, {calls} requests (stopped at the match: {found})")


def main() -> int:
    sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tools.orbkit, for the packed installer
    import bench_calls
    import bench_footprint
    import bench_install
    import bench_wan

    startup()
    report_page()
    pagination()
    bench_calls.report()
    bench_wan.report()
    bench_install.report()
    bench_footprint.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
