"""The API token: read from an environment variable only, and never shown.

:class:`Token` keeps the secret out of ``str``/``repr`` and out of anything formatted from it; the only way to
the value is :meth:`Token.reveal`, used in exactly one place (the request header).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Optional

from cb_helper.api.errors import BadInput, ConfigurationError

DEFAULT_TOKEN_ENV = "CIRCLE_TOKEN"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Token:
    """A secret whose text form is redacted."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self._source = source

    @property
    def source(self) -> str:
        """The name of the environment variable the token came from."""
        return self._source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Token(from ${self._source}, redacted)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> str:
        raise TypeError("a Token cannot be pickled")


def check_env_name(name: str) -> str:
    if not _ENV_NAME.match(name or ""):
        raise BadInput(f"--token-env {name!r} is not an environment variable name (expected e.g. CIRCLE_TOKEN)")
    return name


def read_token(env_name: str = DEFAULT_TOKEN_ENV, environ: Optional[Mapping[str, str]] = None) -> Token:
    """Read the token from ``env_name``; a one-line error names the variable when it is unset or empty."""
    check_env_name(env_name)
    source = os.environ if environ is None else environ
    value = source.get(env_name, "").strip()
    if not value:
        raise ConfigurationError(
            f"environment variable {env_name} is not set or empty "
            "(expected a CircleCI personal API token; choose another variable with --token-env)"
        )
    if any(ch in value for ch in "\r\n\0"):
        raise ConfigurationError(f"environment variable {env_name} holds a token with a line break or NUL byte")
    return Token(value, env_name)
