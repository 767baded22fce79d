"""Opaque ``next_page_token`` values, as CircleCI hands them out.

A token names one list (e.g. the workflows of one pipeline) and an offset into it. A token that was
never issued, or that belongs to another list, is stale: the API answers 404 ``{"message": "Not Found"}``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from typing import Optional, TypeVar

T = TypeVar("T")


class StalePageToken(Exception):
    """The ``page-token`` was not issued for this list."""


class PageTokens:
    """Issues and resolves page tokens; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued: dict[str, tuple[str, int]] = {}

    def page(
        self, list_key: str, items: Sequence[T], page_token: Optional[str], page_size: int
    ) -> tuple[list[T], Optional[str]]:
        """The page of ``items`` that ``page_token`` points at, and the token of the next page."""
        offset = 0
        if page_token:  # an empty page-token means the first page (allowEmptyValue in the spec)
            with self._lock:
                issued = self._issued.get(page_token)
            if issued is None or issued[0] != list_key:
                raise StalePageToken(page_token)
            offset = issued[1]
        chunk = list(items[offset : offset + page_size])
        next_token = None
        if offset + page_size < len(items):
            next_token = secrets.token_urlsafe(18)
            with self._lock:
                self._issued[next_token] = (list_key, offset + page_size)
        return chunk, next_token
