"""``cb-helper sim serve`` as a real process: it starts, answers, and stops cleanly on a signal."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import requests

COMMAND = [sys.executable, "-m", "cb_helper", "sim", "serve"]


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.rstrip("\n"))


@pytest.fixture
def serve() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    process = subprocess.Popen(
        [*COMMAND, "--port", "0", "--project", "gh/acme/rehearsal", "--page-size", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    printed: dict[str, str] = {}
    try:
        while "CIRCLE_TOKEN" not in printed:
            line = lines.get(timeout=30)
            key, sep, value = line.partition("=")
            if sep:
                printed[key] = value
        yield process, printed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_then_stops_cleanly(serve: tuple[subprocess.Popen[str], dict[str, str]], signum: int) -> None:
    process, printed = serve
    url, token = printed["CIRCLECI_HOST"], printed["CIRCLE_TOKEN"]
    assert url.startswith("http://127.0.0.1:")
    me = requests.get(url + "/api/v2/me", headers={"Circle-Token": token}, timeout=5)
    assert me.status_code == 200
    created = requests.post(
        url + "/api/v2/project/gh/acme/rehearsal/pipeline", headers={"Circle-Token": token}, json={}, timeout=5
    )
    assert created.status_code == 201
    process.send_signal(signum)
    assert process.wait(timeout=20) == 0
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert "simulator stopped" in stderr
    assert "POST /api/v2/project/gh/acme/rehearsal/pipeline -> 201" in stderr
    assert token not in stderr


def test_a_malformed_project_is_refused_before_serving() -> None:
    result = subprocess.run(
        [*COMMAND, "--project", "not-a-slug"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "'not-a-slug'" in result.stderr
    assert result.stdout == ""


def test_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*COMMAND, "--port", str(port)], capture_output=True, text=True, timeout=60, check=False
        )
    assert result.returncode == 2
    assert result.stderr.startswith(f"cb-helper: error: cannot listen on 127.0.0.1:{port}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_the_help_example_is_one_unbroken_command() -> None:
    from click.testing import CliRunner

    from cb_helper.cli import cli

    result = CliRunner().invoke(cli, ["sim", "serve", "--help"], terminal_width=80)
    assert result.exit_code == 0
    example = [line.strip() for line in result.output.splitlines() if "cb-helper sim serve --port" in line]
    assert example == ["cb-helper sim serve --port 8080 --project gh/acme/project-a=a --project gh/acme/project-b"]
