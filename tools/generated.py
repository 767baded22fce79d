"""Write a generated document, or (``--check``) say whether the committed one is current."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_or_check(target: Path, text: str, module: str, argv: list[str]) -> int:
    """Write ``text`` to ``target``; with ``--check``, return 1 (naming ``module`` to run) when it differs."""
    if "--check" in argv:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{target.relative_to(ROOT)} is stale: run python -m {module}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0
