"""Approve latency on a modelled WAN: cb-helper against a bash+curl+jq circle-back that pages.

A delaying TCP proxy sits in front of the simulator: each new connection waits 100 ms (TCP and TLS
handshakes), each request 50 ms (one round trip). Both circle-backs run as fresh processes, as in a job.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cb_helper.sim import SimServer, SimState

HANDSHAKE = 0.100
ROUND_TRIP = 0.050
HOLD = "wait-for-triggered-pipeline"

#: The seed's circle-back with the pagination it lacked: page the jobs until the hold, then approve.
CURL_CIRCLE_BACK = r"""set -euo pipefail
api="$CIRCLECI_HOST/api/v2"
token=""
while :; do
  page="$(curl -sS --fail -H @"$HEADERS" "$api/workflow/$WORKFLOW_ID/job${token:+?page-token=$token}")"
  hold="$(jq -r --arg name "$JOB_NAME" \
    '.items[] | select(.name == $name and .type == "approval") | .approval_request_id // .id' <<< "$page")"
  [ -n "$hold" ] && break
  token="$(jq -r '.next_page_token // empty' <<< "$page")"
  [ -n "$token" ] || { echo "no job named $JOB_NAME" >&2; exit 1; }
done
curl -sS --fail -X POST -H @"$HEADERS" "$api/workflow/$WORKFLOW_ID/approve/$hold" > /dev/null
"""


class DelayingProxy:
    """Forwards TCP to ``target``, adding HANDSHAKE per connection and ROUND_TRIP per request."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.requests = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def reset(self) -> None:
        with self._lock:
            self.connections = self.requests = 0

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        time.sleep(HANDSHAKE)
        with self._lock:
            self.connections += 1
        upstream = socket.create_connection(self.target)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        answered = threading.Event()
        answered.set()  # the first bytes from the client start a request
        threading.Thread(target=self._pump, args=(upstream, client, answered, None), daemon=True).start()
        self._pump(client, upstream, None, answered)

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        request_side: threading.Event | None,
        answered: threading.Event | None,
    ) -> None:
        try:
            while data := source.recv(65536):
                if answered is not None and answered.is_set():  # client -> server: a new request
                    answered.clear()
                    with self._lock:
                        self.requests += 1
                    time.sleep(ROUND_TRIP)
                if request_side is not None:  # server -> client: the request was answered
                    request_side.set()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _upstream(state: SimState, jobs_before_hold: int) -> str:
    pipeline = state.create_pipeline("gh/bench/project-a")
    workflow = state.add_workflow(pipeline.id, "build-and-integrate")
    for i in range(jobs_before_hold):
        state.add_job(workflow.id, f"build-{i:03d}", status="success")
    state.add_job(workflow.id, HOLD, type="approval", status="on_hold")
    return workflow.id


def _timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def report(runs: int = 5) -> None:
    state = SimState(page_size=20)
    state.add_project("gh/bench/project-a")
    with SimServer(state) as server, tempfile.TemporaryDirectory() as tmp:
        proxy = DelayingProxy(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
        headers = Path(tmp) / "headers"
        headers.write_text(f"Circle-Token: {server.token}\n")
        script = Path(tmp) / "circle-back.sh"
        script.write_text(CURL_CIRCLE_BACK)
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "CIRCLECI_HOST": proxy.url,
            "CIRCLE_TOKEN": server.token,
            "HEADERS": str(headers),
            "JOB_NAME": HOLD,
            "NO_PROXY": "*",
        }
        if "PYTHONPATH" in os.environ:  # e.g. to time another checkout's cb_helper
            base["PYTHONPATH"] = os.environ["PYTHONPATH"]
        print(
            f"approve on a modelled WAN ({ROUND_TRIP * 1000:.0f} ms per round trip, {HANDSHAKE * 1000:.0f} ms per "
            f"new connection), median of {runs}, each a fresh process:"
        )
        for jobs_before in (5, 45):
            pages = jobs_before // state.page_size + 1
            results = {}
            for name in ("cb-helper approve --workflow-id", "bash+curl+jq"):
                timings, shape = [], ""
                for _ in range(runs):
                    workflow_id = _upstream(state, jobs_before)
                    env = {**base, "WORKFLOW_ID": workflow_id}
                    if name == "bash+curl+jq":
                        args = ["bash", str(script)]
                    else:
                        args = [sys.executable, "-m", "cb_helper", "approve", "--job-name", HOLD,
                                "--workflow-id", workflow_id]  # fmt: skip
                    proxy.reset()
                    timings.append(_timed(args, env))
                    shape = f"{proxy.requests} requests on {proxy.connections} connections"
                results[name] = statistics.median(timings)
                print(f"  hold on page {pages}: {name}: {results[name] * 1000:.0f} ms ({shape})")
        without = _timed([sys.executable, "-m", "cb_helper", "--version"], base)
        print(f"  (of which starting the cb-helper process: about {without * 1000:.0f} ms, no network)")
