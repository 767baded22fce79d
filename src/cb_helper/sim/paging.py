"""Opaque ``next_page_token`` values, as CircleCI hands them out.

A token names one list (e.g. the workflows of one pipeline) and an offset into it. A token that was
never issued, or that belongs to another list, is stale: the API answers 404 ``{"message": "Not Found"}``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from typing import Callable, Optional, TypeVar

T = TypeVar("T")
#: ``fetch(offset, limit)``: at most ``limit`` items from ``offset`` on, and the whole list's length.
Fetch = Callable[[int, int], tuple[list[T], int]]


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
        return self.page_of(
            list_key, lambda offset, limit: (list(items[offset : offset + limit]), len(items)), page_token, page_size
        )

    def page_of(
        self, list_key: str, fetch: Fetch[T], page_token: Optional[str], page_size: int
    ) -> tuple[list[T], Optional[str]]:
        """Like :meth:`page`, but ``fetch(offset, limit)`` gives one page and the list's length.

        So a long list is not copied whole to serve one page of it.
        """
        offset = 0
        if page_token:  # an empty page-token means the first page (allowEmptyValue in the spec)
            with self._lock:
                issued = self._issued.get(page_token)
            if issued is None or issued[0] != list_key:
                raise StalePageToken(page_token)
            offset = issued[1]
        chunk, total = fetch(offset, page_size)
        next_token = None
        if offset + page_size < total:
            next_token = secrets.token_urlsafe(18)
            with self._lock:
                self._issued[next_token] = (list_key, offset + page_size)
        return chunk, next_token
