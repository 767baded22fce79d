"""Artifact downloads: the ``url`` an artifact list gives, served by the simulator itself.

CircleCI serves artifact content from a host of its own, outside API v2, and wants the token there too.
The simulator lists its artifacts under its own origin (``<origin>/output/job/<slug>/<job-number>/
artifacts/<node>/<path>``) and answers those URLs here, with the same authentication as the API routes.
"""

from __future__ import annotations

import mimetypes
from typing import Optional
from urllib.parse import unquote

from cb_helper.sim.answer import Answer, Refusal, error
from cb_helper.sim.outputs import DOWNLOAD_PREFIX
from cb_helper.sim.routes import INVALID_TOKEN, QUERY_AUTH, Call
from cb_helper.sim.state import SimState

#: Invented: the answer to a download without a token (CircleCI's wording is undocumented).
LOGIN_REQUIRED = "You must log in first."


def parse_download(path: str) -> Optional[tuple[list[str], list[str]]]:
    """Split a request path under the download prefix into decoded and raw segments (``None`` if outside)."""
    if not path.startswith(DOWNLOAD_PREFIX):
        return None
    raw = path[len(DOWNLOAD_PREFIX) :].split("/")
    return [unquote(s) for s in raw], raw


class Downloads:
    """Answers artifact downloads from one :class:`SimState`."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    def handle(self, call: Call) -> Answer:
        try:
            return self._serve(call)
        except Refusal as refusal:
            return error(refusal.status, refusal.message)

    def _serve(self, call: Call) -> Answer:
        seg = call.segments
        # <provider>/<org>/<repo>/<job-number>/artifacts/<node>/<path...>
        if len(seg) < 7 or seg[4] != "artifacts" or not all(seg[:3]) or not all(_number(s) for s in seg[3:6:2]):
            raise Refusal(404, "Not Found")
        if call.method != "GET":
            raise Refusal(405, "Method Not Allowed")
        if call.query_token:
            raise Refusal(401, QUERY_AUTH)
        if call.token is None:
            raise Refusal(401, LOGIN_REQUIRED)
        if self.state.user_for_token(call.token) is None:
            raise Refusal(401, INVALID_TOKEN)
        slug, number, node, path = "/".join(seg[:3]), int(seg[3]), int(seg[5]), "/".join(seg[6:])
        visible = self.state.can_access(call.token, slug)
        content = self.state.artifact_content(slug, number, node, path) if visible else None
        if content is None:
            raise Refusal(404, "Not Found")
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return Answer(200, content, {"Content-Type": kind})


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit()
