"""Pagination: every item of a list endpoint, following ``next_page_token``, through stale tokens."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any, Optional, Protocol

from cb_helper.api.errors import ApiError, CbError, NotFound
from cb_helper.api.retry import RetryPolicy

log = logging.getLogger("cb_helper.http")


class PagedSource(Protocol):
    """What pagination needs of a client (:class:`cb_helper.api.client.CircleCIClient` is one)."""

    max_pages: int
    retry: RetryPolicy

    def get(self, path: str, params: Optional[Mapping[str, str]] = None) -> Any: ...


class _StalePageToken(Exception):
    """A page token answered 404: the list must be read again from its first page."""


def paginate(client: PagedSource, path: str, params: Optional[Mapping[str, str]] = None) -> Iterator[dict[str, Any]]:
    """Yield every item of a list endpoint, page by page, lazily.

    Follows ``next_page_token`` with the ``page-token`` query parameter until it is null; refuses a token the
    server already gave (a loop) and stops with an error after ``client.max_pages`` pages. A page token the
    server no longer knows (404: a stale token) restarts the list from its first page, skipping the items
    already yielded, at most as many times as the retry policy tries a request.
    """
    yielded: set[str] = set()
    restarts = 0
    while True:
        try:
            yield from _pages(client, path, params, yielded)
            return
        except _StalePageToken:
            restarts += 1
            if restarts >= client.retry.max_attempts:
                raise ApiError("GET", path, 404, "Not Found", hint="page tokens kept going stale") from None
            log.debug("GET %s -> the page token went stale; listing again from the first page", path)


def _pages(
    client: PagedSource, path: str, params: Optional[Mapping[str, str]], yielded: set[str]
) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    page_token: Optional[str] = None
    for _page in range(client.max_pages):
        query = dict(params or {})
        if page_token is not None:
            query["page-token"] = page_token
        try:
            body = client.get(path, query)
        except NotFound:
            if page_token is None:
                raise
            raise _StalePageToken() from None
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise ApiError("GET", path, None, "the answer is not a list ({items, next_page_token})")
        for item in body["items"]:
            if isinstance(item, dict):
                key = _item_key(item)
                if key not in yielded:
                    yielded.add(key)
                    yield item
        page_token = body.get("next_page_token")
        if not page_token:
            return
        if page_token in seen:
            raise ApiError("GET", path, None, "the server repeated a page token; stopped to avoid a loop")
        seen.add(page_token)
    raise CbError(f"GET {path} still had more results after {client.max_pages} pages; stopped")


def _item_key(item: dict[str, Any]) -> str:
    """What identifies a list item across two readings: its id, else its content (JSON text, which no id is)."""
    ident = item.get("id")
    if ident:
        return str(ident)
    return json.dumps(item, sort_keys=True)
