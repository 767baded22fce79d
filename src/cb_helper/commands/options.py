"""What the commands share: the API options, the client, progress on stderr, and checks of common input."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

import click

from cb_helper.api.errors import BadInput

if TYPE_CHECKING:
    from cb_helper.api.client import CircleCIClient

F = TypeVar("F", bound=Callable[..., Any])

#: How long a downstream may take before the sweeper stops waiting for it (see docs/operations.md).
DEFAULT_DEADLINE = "6h"

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def api_options(func: F) -> F:
    """``--host`` and ``--token-env``, shared by every command that calls the API."""
    func = click.option(
        "--token-env",
        default="CIRCLE_TOKEN",
        show_default=True,
        metavar="NAME",
        help="Environment variable holding the CircleCI personal API token (the token itself is never an option).",
    )(func)
    return click.option(
        "--host",
        envvar="CIRCLECI_HOST",
        default="https://circleci.com",
        show_default=True,
        metavar="URL",
        help="CircleCI host (CircleCI Server, or the embedded simulator); env CIRCLECI_HOST.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


ARTIFACT_HOST_KEY = "cb_helper.artifact_host"


def artifact_host_option(func: F) -> F:
    """``--artifact-host`` (env ``CIRCLECI_ARTIFACT_HOST``), for commands that download artifacts: kept in the
    click context for :func:`make_client`, so the command's own signature does not change."""

    def keep(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> None:
        ctx.meta[ARTIFACT_HOST_KEY] = value

    return click.option(
        "--artifact-host",
        envvar="CIRCLECI_ARTIFACT_HOST",
        metavar="URL",
        expose_value=False,
        callback=keep,
        help="CircleCI Server: the host serving artifacts when it is not --host (https); the token is sent there "
        "too, and to no other host; env CIRCLECI_ARTIFACT_HOST.",
    )(func)


def make_client(host: str, token_env: str) -> CircleCIClient:
    """Validate host, artifact host and token (exit 2 when wrong), then build the client. No request is sent here."""
    from cb_helper.api.auth import read_token
    from cb_helper.api.client import CircleCIClient, normalize_artifact_host, normalize_host
    from cb_helper.api.retry import RetryPolicy
    from cb_helper.api.tuning import rate_limit_budget, timeouts

    normalize_host(host)
    context = click.get_current_context(silent=True)
    artifact_host = context.meta.get(ARTIFACT_HOST_KEY) if context is not None else None
    artifact_hosts = [normalize_artifact_host(artifact_host)] if artifact_host else []
    token = read_token(token_env)
    retry = RetryPolicy(rate_limit_budget=rate_limit_budget())
    return CircleCIClient(host, token, timeout=timeouts(), retry=retry, artifact_hosts=artifact_hosts)


class Progress:
    """Progress on stderr: one live line on a terminal, plain periodic lines otherwise (CI logs)."""

    def __init__(self, every: float = 30.0) -> None:
        self.live = sys.stderr.isatty()
        self.every = every
        self._last_text = ""
        self._last_time = 0.0
        self._since = 0.0
        self._width = 0

    def __call__(self, text: str) -> None:
        if self.live:
            padded = text.ljust(self._width)
            self._width = len(text)
            click.echo("\r" + padded, nl=False, err=True)
            return
        now = time.monotonic()
        if text != self._last_text:
            click.echo(text, err=True)
            self._last_text, self._last_time, self._since = text, now, now
        elif now - self._last_time >= self.every:  # a heartbeat, not the same line again
            click.echo(f"{text} (still, after {now - self._since:.0f}s)", err=True)
            self._last_time = now

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        """End a live line, so what follows starts on a line of its own."""
        if self.live and self._width:
            click.echo("", err=True)
            self._width = 0


def parse_id(value: str, option: str) -> str:
    """``value`` as a canonical UUID, or a one-line error naming ``option``."""
    from cb_helper.api.vocabulary import parse_uuid

    return parse_uuid(value, option)


def positive(value: float, option: str) -> float:
    """``value`` when it is a finite number above zero; a one-line error naming ``option`` otherwise."""
    if not math.isfinite(value) or value <= 0:
        raise BadInput(f"{option} {value:g} is not a positive, finite number of seconds (expected e.g. 300)")
    return value


def prepare_output_file(path: Optional[str], option: str = "--id-file") -> Optional[Path]:
    if path is None:
        return None
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{option} {path!r} cannot be written ({exc.strerror})") from None
    if target.exists() and not target.is_file():
        raise BadInput(f"{option} {path!r} is not a regular file")
    return target


def prepare_output_dir(path: Optional[str]) -> Optional[Path]:
    if path is None:
        return None
    target = Path(path)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"--outputs-dir {path!r} cannot be created ({exc.strerror})") from None
    return target


def read_pipeline_id(pipeline_id: Optional[str], id_file: Optional[str]) -> str:
    if (pipeline_id is None) == (id_file is None):
        raise BadInput("give exactly one of --pipeline-id and --id-file")
    if id_file is not None:
        try:
            text = Path(id_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BadInput(
                f"--id-file {id_file!r} cannot be read ({exc.strerror}); "
                "expected the file written by cb-helper trigger --id-file"
            ) from None
        return parse_id(text, f"pipeline id in {id_file}")
    assert pipeline_id is not None
    return parse_id(pipeline_id, "--pipeline-id")
