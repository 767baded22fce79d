"""What a route answers: a status, a JSON body and extra headers; and the refusal that short-cuts it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Refusal(Exception):
    """Stop handling and answer ``status`` with ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str) -> Answer:
    return Answer(status, {"message": message})


#: The 400 CircleCI gives for a body it cannot use (``400_unexpected_request_body`` in the spec).
UNEXPECTED_BODY = "Unexpected request body provided."
