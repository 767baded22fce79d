"""``python -m tools.orbkit check``: every offline check of the orb, one report."""

from __future__ import annotations

import sys

from tools.orbkit.bundle import build_orb


def run_checks(network: bool = False) -> int:
    """Pack the orb; return 0 when every check passes."""
    del network
    build_orb()
    print("orb packs", file=sys.stderr)
    return 0
