"""Errors of the local pipeline runner."""

from __future__ import annotations

from cb_helper.api.errors import BadInput


class ConfigError(BadInput):
    """A config (or an orb it uses) cannot be compiled, or uses something the runner does not support.

    The message is one line naming the offending value and what was expected. For a triggered
    pipeline it becomes the pipeline's ``errors[]`` entry, as CircleCI's config compiler would report it.
    """

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.detail = message
        self.where = where

    def within(self, where: str) -> ConfigError:
        """The same error, prefixed with an outer location (e.g. ``job 'build'``) unless it starts with it."""
        if self.message.startswith(where):
            return self
        return ConfigError(self.message, where=where)


class UnexpectedArguments(ConfigError):
    """A pipeline was given parameters its config does not declare."""


class ConfigFetchError(ConfigError):
    """The project has no config the runner can read (CircleCI's ``config-fetch`` pipeline error)."""
