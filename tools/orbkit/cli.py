"""Command line of the orb tooling: ``pack``, ``bundle`` and ``check``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from tools.orbkit.bundle import BUNDLE_PATH, ORB_SRC, REPO_ROOT, BundleError, build_orb, render_bundle
from tools.orbkit.pack import PackError, pack_orb

DEFAULT_OUT = REPO_ROOT / "dist" / "orb.yml"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.orbkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    pack = commands.add_parser("pack", help="pack SRC (default orb/src) into OUT (default dist/orb.yml)")
    pack.add_argument("src", nargs="?", type=Path, default=ORB_SRC)
    pack.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    pack.add_argument("--no-bundle", action="store_true", help="pack as is, without generating the helper bundle")
    bundle = commands.add_parser("bundle", help=f"write the generated {BUNDLE_PATH} into the orb source")
    bundle.add_argument("src", nargs="?", type=Path, default=ORB_SRC)
    check = commands.add_parser(
        "check", help="pack SRC (default orb/src), validate, review, size, shellcheck, yamllint"
    )
    check.add_argument("src", nargs="?", type=Path, default=ORB_SRC)
    check.add_argument("--network", action="store_true", help="also run RC006/RC007 (they fetch URLs)")
    args = parser.parse_args(argv)

    try:
        if args.command == "pack":
            text = pack_orb(args.src) if args.no_bundle else build_orb(args.src)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text, encoding="utf-8")
            print(f"packed {args.src} into {args.out}", file=sys.stderr)
            return 0
        if args.command == "bundle":
            target = args.src / BUNDLE_PATH
            target.write_text(render_bundle(orb_src=args.src), encoding="utf-8")
            target.chmod(0o755)
            print(f"wrote {target}", file=sys.stderr)
            return 0
    except (PackError, BundleError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 255
    from tools.orbkit.check import run_checks

    return run_checks(network=args.network, orb_src=args.src)
