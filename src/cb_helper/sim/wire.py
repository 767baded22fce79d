"""Reading a request off the wire: its body's framing, its token, and what may be shown of it.

The token is read from ``Circle-Token``, HTTP Basic (token as user) or ``Bearer``; headers and bodies
handed to logs and observers never carry it.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from typing import Any, Optional

#: Header values never passed on to observers or logs.
_SECRET_HEADERS = ("circle-token", "authorization")


class BadFraming(Exception):
    """The request's ``Content-Length`` or chunked encoding is malformed."""


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}\Z")


def read_body(headers: Any, stream: io.BufferedIOBase) -> bytes:
    """The request body, framed by ``Content-Length`` or ``Transfer-Encoding: chunked``."""
    if "chunked" in str(headers.get("Transfer-Encoding") or "").lower():
        parts: list[bytes] = []
        while True:
            size = stream.readline(1024).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.match(size):
                raise BadFraming
            if int(size, 16) == 0:
                while stream.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            parts.append(stream.read(int(size, 16)))
            if stream.readline(1024).strip():
                raise BadFraming
    text = str(headers.get("Content-Length") or "0").strip()
    if not (text.isascii() and text.isdigit()):
        raise BadFraming
    length = int(text)
    return stream.read(length) if length else b""


def token_of(headers: Any) -> Optional[str]:
    """The token from ``Circle-Token``, or HTTP Basic (token as user), or ``Bearer``."""
    direct = headers.get("Circle-Token")
    if direct:
        return str(direct).strip()
    auth = str(headers.get("Authorization") or "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[0]
    if scheme.lower() == "bearer":  # in CircleCI's newer docs, not in the spec copy
        return value.strip()
    return None


def redacted(headers: Any) -> dict[str, str]:
    shown: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            shown[name] = f"{str(value).partition(' ')[0]} <redacted>"
        elif name.lower() in _SECRET_HEADERS:
            shown[name] = "<redacted>"
        else:
            shown[name] = str(value)
    return shown


#: Body fields that are credentials: kept out of the request log like the token.
SECRET_FIELDS = ("continuation-key",)


def loggable(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return body.decode("utf-8", errors="replace")
    if isinstance(data, dict):
        data = {k: "********" if k in SECRET_FIELDS and isinstance(v, str) else v for k, v in data.items()}
    return data
