"""The simulator's HTTP server: stdlib ``ThreadingHTTPServer`` on loopback, faults wrapped around the router.

``SimServer`` runs in a background thread (``with SimServer() as server: ...``). Every request is
recorded in the state's request log (never the token) and shown to ``observers`` (the contract
tests validate each exchange against CircleCI's spec this way). Paths under ``/api/v2`` go to the
router; paths under ``/output/job/`` are artifact downloads (:mod:`cb_helper.sim.downloads`).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

from cb_helper.sim.answer import UNEXPECTED_BODY, Answer, error
from cb_helper.sim.downloads import Downloads, parse_download
from cb_helper.sim.faults import Fault, FaultPlan
from cb_helper.sim.model import RequestRecord
from cb_helper.sim.routes import API_PREFIX, Call, Router, parse_path
from cb_helper.sim.state import SimState
from cb_helper.sim.wire import BadFraming, loggable, read_body, redacted, token_of

#: Bodies of injected error statuses (the spec's default messages).
_STATUS_MESSAGES = {429: "Rate limit exceeded.", 500: "Internal server error."}
_GATEWAY_PAGE = "<html><head><title>{0}</title></head><body><h1>{0}</h1></body></html>\n"
_REASONS = {502: "502 Bad Gateway", 503: "503 Service Unavailable", 504: "504 Gateway Time-out"}


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as observers see them (secret headers redacted)."""

    method: str
    path: str  # the full request path, percent-encoded as sent, without the query
    query: dict[str, str]
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    fault: Optional[str]


Observer = Callable[[Exchange], None]


def encode(body: Any) -> bytes:
    """JSON the way CircleCI's servers print it (pretty, ``" : "`` between key and value)."""
    return json.dumps(body, indent=2, separators=(",", " : ")).encode("utf-8")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default backlog of 5 resets bursts of concurrent connections
    sim: SimServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second waits for the client's delayed ACK
    # (about 40 ms a request on keep-alive connections).
    disable_nagle_algorithm = True
    server: _HTTPServer
    server_version = "cb-helper-sim"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        """Answer one request; a bug in here still gets an answer (500) and a recorded traceback."""
        try:
            self._exchange()
        except Exception:
            self.server.sim.internal_errors.append(traceback.format_exc())
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send(500, {"Content-Type": "application/json"}, encode({"message": "Internal server error."}))

    def _exchange(self) -> None:
        sim = self.server.sim
        split = urlsplit(self.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query = {k: v for k, v in pairs if k.lower() != "circle-token"}  # never log a token, however spelled
        parsed = parse_path(split.path)
        log_path = "/".join(["", *parsed[0]]) if parsed is not None else unquote(split.path)
        try:
            body = read_body(self.headers, self.rfile)
        except BadFraming:
            # Invented: the body's end cannot be found, so answer 400 and close the connection.
            self.close_connection = True
            sim.state.record(RequestRecord(self.command, log_path, query, None, 400, None))
            self._send(400, {"Content-Type": "application/json"}, encode({"message": UNEXPECTED_BODY}))
            return
        fault = sim.faults.take(
            self.command, log_path, has_page_token="page-token" in query, token=token_of(self.headers)
        )
        kind = fault.kind if fault is not None else None

        if fault is not None and fault.kind == "drop":
            status, headers, payload = 0, {}, b""
        else:
            if fault is not None and fault.kind == "delay":
                sim.stopping.wait(fault.delay or 0.0)
            if fault is not None and fault.kind in ("status", "stale_page_token"):
                answer = _fault_answer(fault)
            else:
                answer = error(404, "Not Found")
                target = parsed if parsed is not None else parse_download(split.path)
                if target is not None:
                    token, query_token = token_of(self.headers), any(k.lower() == "circle-token" for k, _ in pairs)
                    call = Call(self.command, target[0], target[1], query, token, query_token, body)
                    answer = sim.dispatch(call, download=parsed is None)
                if fault is not None and fault.kind == "act_then_fail":
                    answer = _fault_answer(Fault(self.command, "", "status", status=502))
            payload = answer.body if isinstance(answer.body, bytes) else encode(answer.body)
            status = answer.status
            headers = {"Content-Type": "application/json", **answer.headers}
            if fault is not None and fault.kind == "truncate":
                payload = payload[: max(1, len(payload) // 2)]  # the status line got through; the body did not

        # Record and observe before answering, so a client that got its answer finds both done.
        sim.state.record(RequestRecord(self.command, log_path, query, loggable(body), status, kind))
        shown = redacted(self.headers)
        sim.observe(Exchange(self.command, split.path, query, shown, body, status, headers, payload, kind))
        if status == 0:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self._send(status, headers, payload)
        except OSError:  # the client gave up (e.g. its timeout was shorter than a delay)
            self.close_connection = True

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:  # the client asked to close, or this answer ends the connection (RFC 9112 9.6)
            self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _fault_answer(fault: Fault) -> Answer:
    if fault.kind == "stale_page_token":
        return error(404, "Not Found")
    status = fault.status or 500
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = (
            str(int(fault.retry_after)) if fault.retry_after == int(fault.retry_after) else str(fault.retry_after)
        )
    if status in _REASONS:  # gateways answer with an HTML page, not JSON
        headers["Content-Type"] = "text/html"
        return Answer(status, _GATEWAY_PAGE.format(_REASONS[status]).encode(), headers)
    return Answer(status, {"message": _STATUS_MESSAGES.get(status, "Error")}, headers)


class SimServer:
    """A real HTTP server for the simulator, in a background thread; a context manager."""

    def __init__(self, state: Optional[SimState] = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state if state is not None else SimState()
        self.faults = FaultPlan()
        self.token = "sim-" + secrets.token_hex(16)
        self.state.add_token(self.token)
        self.router = Router(self.state)
        self.downloads = Downloads(self.state)
        self.observers: list[Observer] = []
        #: Tracebacks of bugs (a route that raised); tests assert this stays empty.
        self.internal_errors: list[str] = []
        self.stopping = threading.Event()
        self._host, self._port = host, port
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    def __repr__(self) -> str:
        return f"SimServer(url={self.url!r})" if self._httpd else "SimServer(stopped)"

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def start(self) -> SimServer:
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.sim = self
        self._httpd = httpd
        self.state.artifact_origin = self.url  # artifact URLs, even of artifacts added before, point here
        self.stopping.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="cb-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd, self._thread = None, None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.stop()

    def dispatch(self, call: Call, *, download: bool = False) -> Answer:
        """Route one call (an artifact download with ``download``); a bug becomes a 500 and a recorded
        traceback, never a dead thread."""
        try:
            return self.downloads.handle(call) if download else self.router.handle(call)
        except Exception:
            self.internal_errors.append(traceback.format_exc())
            return error(500, "Internal server error.")

    def observe(self, exchange: Exchange) -> None:
        for observer in list(self.observers):
            try:
                observer(exchange)
            except Exception:
                self.internal_errors.append(traceback.format_exc())
