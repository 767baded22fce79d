"""Validate with check-jsonschema's vendored CircleCI schema: the packed orb, example usage, configs.

Configs that import this orb get the packed orb inlined in its place (as orb-tools' ``continue`` job
does), so the schema sees the orb's jobs and commands.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

SCHEMA_ARGS = ("--builtin-schema", "vendor.circle-ci")


def run_check_jsonschema(paths: list[Path]) -> list[str]:
    """Run check-jsonschema on ``paths``; return its complaints (empty when every file is valid)."""
    if not paths:
        return []
    command = [sys.executable, "-m", "check_jsonschema", *SCHEMA_ARGS, *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return []
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if line.strip()] or [f"check-jsonschema exited {result.returncode}"]


def inline_orb(config: Mapping[str, Any], orb: Mapping[str, Any], orb_ref: str) -> dict[str, Any]:
    """``config`` with every import of ``orb_ref`` (``ns/name``, or an empty placeholder) replaced by ``orb``."""
    result = copy.deepcopy(dict(config))
    orbs = result.get("orbs")
    if isinstance(orbs, dict):
        for alias, reference in list(orbs.items()):
            if reference in (None, {}) or (isinstance(reference, str) and reference.split("@")[0] == orb_ref):
                orbs[alias] = copy.deepcopy(dict(orb))
    return result


def validate(orb_text: str, orb: Mapping[str, Any], orb_ref: str, configs: Mapping[str, Any]) -> list[str]:
    """Validate the packed orb, each example's usage, and each named config, with the orb inlined."""
    with tempfile.TemporaryDirectory(prefix="orbkit-") as tmp:
        root = Path(tmp)
        paths = [root / "orb.yml"]
        paths[0].write_text(orb_text, encoding="utf-8")
        documents: dict[str, Any] = {}
        for name, example in (orb.get("examples") or {}).items():
            usage = example.get("usage") if isinstance(example, dict) else None
            documents[f"example-{name}.yml"] = inline_orb(usage or {}, orb, orb_ref)
        for name, config in configs.items():
            documents[name] = inline_orb(config, orb, orb_ref)
        for name, document in documents.items():
            path = root / name
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
            paths.append(path)
        return [line.replace(tmp + "/", "") for line in run_check_jsonschema(paths)]
