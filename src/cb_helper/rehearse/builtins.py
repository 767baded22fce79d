"""CircleCI's built-in steps, read from substituted YAML into :mod:`~cb_helper.rehearse.plan` steps.

This is the last stage of compilation, so it also turns the packer's ``\\<<`` back into ``<<``.
Any key the runner does not support is an error naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Callable

from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.plan import (
    WHEN_VALUES,
    ArtifactsStep,
    AttachStep,
    CacheStep,
    CheckoutStep,
    PersistStep,
    RunStep,
    Step,
    TestResultsStep,
)
from cb_helper.rehearse.templating import unescape

#: Steps CircleCI has that a host-shell rehearsal cannot perform.
UNSUPPORTED = {
    "setup_remote_docker": "there is no remote Docker engine",
    "add_ssh_keys": "no SSH keys are installed on this machine",
    "deploy": "it is deprecated; use run",
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smh]?)\Z")


def text(value: Any, what: str, *, required: bool = True) -> str:
    """A string field, un-escaped; numbers are accepted as text as CircleCI does."""
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        if value is None and not required:
            return ""
        raise ConfigError(f"{what} is {value!r} (expected text)")
    return unescape(str(value))


def env_value(value: Any, what: str) -> str:
    """An environment value: booleans arrive as ``1``/``0``, as they do on CircleCI."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    return text(value, what)


def environment(value: Any, what: str) -> tuple[tuple[str, str], ...]:
    """An ``environment:`` mapping (or a list of ``KEY=VALUE``/single-key mappings)."""
    if value is None:
        return ()
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        for entry in value:
            if isinstance(entry, str) and "=" in entry:
                key, _, val = entry.partition("=")
                items.append((key, val))
            elif isinstance(entry, dict) and len(entry) == 1:
                items.extend(entry.items())
            else:
                raise ConfigError(f"{what} entry {entry!r} is not KEY=VALUE")
    else:
        raise ConfigError(f"{what} is {value!r} (expected a mapping of names to values)")
    return tuple((text(k, f"{what} name"), env_value(v, f"{what} value of {k}")) for k, v in items)


def _check_keys(step: str, args: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(str(k) for k in args if k not in allowed)
    if unknown:
        raise ConfigError(
            f"step '{step}' has unsupported key(s) {', '.join(unknown)} "
            f"(the runner supports {', '.join(sorted(allowed))})"
        )


def _when(args: dict[str, Any], step: str, default: str) -> str:
    value = args.get("when", default)
    if value not in WHEN_VALUES:
        raise ConfigError(f"step '{step}' has when: {value!r} (expected always, on_success or on_fail)")
    return str(value)


def _duration(value: Any) -> float:
    match = _DURATION.match(str(value).strip())
    if not match:
        raise ConfigError(f"no_output_timeout {value!r} is not a duration (expected e.g. 30s, 10m, 1h)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def run_step(args: Any) -> RunStep:
    if isinstance(args, str):
        args = {"command": args}
    if not isinstance(args, dict):
        raise ConfigError(f"step 'run' is {args!r} (expected a command or a mapping)")
    _check_keys(
        "run",
        args,
        ("command", "name", "shell", "environment", "working_directory", "background", "no_output_timeout", "when"),
    )
    if "command" not in args:
        raise ConfigError("step 'run' has no command")
    command = text(args["command"], "run command")
    name = text(args["name"], "run name") if args.get("name") is not None else command.strip().split("\n")[0]
    background = args.get("background", False)
    if not isinstance(background, bool):
        raise ConfigError(f"run background is {background!r} (expected true or false)")
    return RunStep(
        name=name,
        command=command,
        shell=text(args["shell"], "run shell") if args.get("shell") else None,
        environment=environment(args.get("environment"), "run environment"),
        working_directory=text(args["working_directory"], "run working_directory")
        if args.get("working_directory")
        else None,
        background=background,
        no_output_timeout=_duration(args.get("no_output_timeout", "10m")),
        when=_when(args, "run", "on_success"),
    )


def _checkout(args: dict[str, Any]) -> Step:
    _check_keys("checkout", args, ("path", "method", "name", "when"))
    method = args.get("method", "full")
    if method not in ("full", "blobless", "shallow"):
        raise ConfigError(f"checkout method {method!r} (expected full, blobless or shallow)")
    path = text(args["path"], "checkout path") if args.get("path") else None
    return CheckoutStep(path=path, when=_when(args, "checkout", "on_success"))


def _persist(args: dict[str, Any]) -> Step:
    _check_keys("persist_to_workspace", args, ("root", "paths", "name", "when"))
    paths = args.get("paths")
    if "root" not in args or not isinstance(paths, list) or not paths:
        raise ConfigError("step 'persist_to_workspace' needs 'root' and a non-empty list of 'paths'")
    return PersistStep(
        root=text(args["root"], "persist_to_workspace root"),
        paths=tuple(text(p, "persist_to_workspace path") for p in paths),
        when=_when(args, "persist_to_workspace", "on_success"),
    )


def _attach(args: dict[str, Any]) -> Step:
    _check_keys("attach_workspace", args, ("at", "name", "when"))
    if "at" not in args:
        raise ConfigError("step 'attach_workspace' needs 'at'")
    return AttachStep(at=text(args["at"], "attach_workspace at"), when=_when(args, "attach_workspace", "on_success"))


def _artifacts(args: dict[str, Any]) -> Step:
    _check_keys("store_artifacts", args, ("path", "destination", "name", "when"))
    if "path" not in args:
        raise ConfigError("step 'store_artifacts' needs 'path'")
    destination = text(args["destination"], "store_artifacts destination") if args.get("destination") else None
    return ArtifactsStep(
        path=text(args["path"], "store_artifacts path"),
        destination=destination,
        when=_when(args, "store_artifacts", "always"),
    )


def _test_results(args: dict[str, Any]) -> Step:
    _check_keys("store_test_results", args, ("path", "name", "when"))
    if "path" not in args:
        raise ConfigError("step 'store_test_results' needs 'path'")
    return TestResultsStep(
        path=text(args["path"], "store_test_results path"), when=_when(args, "store_test_results", "always")
    )


def _cache(action: str) -> Callable[[dict[str, Any]], Step]:
    step = f"{action}_cache"

    def parse(args: dict[str, Any]) -> Step:
        allowed = ("key", "paths", "name", "when") if action == "save" else ("key", "keys", "name", "when")
        _check_keys(step, args, allowed)
        keys = args.get("keys") or ([args["key"]] if "key" in args else [])
        if not isinstance(keys, list) or not keys:
            raise ConfigError(f"step '{step}' needs 'key'" + (" or 'keys'" if action == "restore" else ""))
        return CacheStep(
            action=action,
            keys=tuple(text(k, f"{step} key") for k in keys),
            name=text(args.get("name"), f"{step} name", required=False),
            when=_when(args, step, "on_success"),
        )

    return parse


_PARSERS: dict[str, Callable[[dict[str, Any]], Step]] = {
    "checkout": _checkout,
    "persist_to_workspace": _persist,
    "attach_workspace": _attach,
    "store_artifacts": _artifacts,
    "store_test_results": _test_results,
    "save_cache": _cache("save"),
    "restore_cache": _cache("restore"),
}
BUILTIN_NAMES = frozenset({"run", *_PARSERS, *UNSUPPORTED})


def parse_builtin(name: str, args: Any) -> Step:
    """A built-in step from its (substituted) arguments."""
    if name in UNSUPPORTED:
        raise ConfigError(f"step '{name}' is not supported by the rehearsal runner ({UNSUPPORTED[name]})")
    if name == "run":
        return run_step(args)
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ConfigError(f"step '{name}' takes a mapping of arguments, not {args!r}")
    return _PARSERS[name](args)
