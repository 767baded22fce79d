"""``python -m tools.soak``: seeded soak runs, the load scenarios, and the table.

Each run's seed is ``--seed`` plus its index, printed with the run; ``--seed N --runs 1`` replays run N. The load
and fan-out scenarios run once per seed of ``--seeds`` (``--seed``, ``--seed`` + 1, ...), each reported on its own.
Exit 1 when any invariant was violated, 2 on bad options.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from tools.soak import projects
from tools.soak.report import table
from tools.soak.run import RunReport, Settings, run

#: The per-token limit the load scenarios meet: CircleCI publishes no figure for its cloud API (its Server
#: docs say 150 requests per second per user); this one is low enough that the load scenarios exceed it.
RATE_LIMIT = (10, 1.0)
#: Load scenarios list 20 items a page, as CircleCI does; the pair runs use 2, so page tokens can go stale.
LOAD_PAGE_SIZE = 20


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"rate {text!r} is not a probability between 0 and 1")
    return value


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__.splitlines()[0])
    cli.add_argument("--seed", type=int, default=None, help="first run's seed (default: random, printed)")
    cli.add_argument("--runs", type=int, default=20, help="faulted runs of the A+B pair (default 20)")
    cli.add_argument("--rate", type=_rate, default=0.05, help="share of requests faulted (default 0.05)")
    cli.add_argument("--baseline", type=int, default=3, help="fault-free runs per scenario, for comparison")
    cli.add_argument("--load", type=int, default=0, help="also N A projects at once triggering one B (e.g. 50)")
    cli.add_argument("--fan-out", type=int, default=0, help="also one A fanning out to N Bs (e.g. 20)")
    cli.add_argument(
        "--seeds", type=int, default=1, help="run load and fan-out with this many seeds, from --seed (default 1)"
    )
    cli.add_argument(
        "--rate-limit", type=int, default=RATE_LIMIT[0], help="requests per second per token in the load scenarios"
    )
    cli.add_argument("--read-timeout", type=float, default=1.0, help="the client's read timeout (s); slow > it")
    cli.add_argument("--parallel", type=int, default=4, help="jobs the runner runs at once (default 4)")
    cli.add_argument("--workdir", type=Path, default=None, help="keep the runs' files here")
    return cli


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    counts = (args.runs, args.baseline, args.load, args.fan_out)
    if min(counts) < 0 or args.parallel < 1 or args.rate_limit < 1 or args.seeds < 1:
        print("soak: counts must be >= 0, --parallel, --rate-limit and --seeds >= 1", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    print(f"soak: seed {seed}, {args.runs} run(s) at fault rate {args.rate:g}", file=sys.stderr)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cb-soak-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        reports, baselines = soak(args, seed, workdir)
    print(table(reports, baselines))
    print(f"soak: done in {time.monotonic() - began:.0f}s", file=sys.stderr)
    failed = [r for r in reports + baselines if r.violations]
    for report in failed:
        print(f"\nseed {report.seed} ({report.scenario}, rate {report.settings.rate:g}):", file=sys.stderr)
        for violation in report.violations:
            print(f"  {violation}", file=sys.stderr)
        for note in report.notes:
            print(note, file=sys.stderr)
    return 1 if failed else 0


def soak(args: argparse.Namespace, seed: int, workdir: Path) -> tuple[list[RunReport], list[RunReport]]:
    from tools.orbkit.bundle import ORB_SRC, build_orb

    orb = workdir / "orb.yml"
    orb.write_text(build_orb(ORB_SRC), encoding="utf-8")
    faulted = Settings(rate=args.rate, read_timeout=args.read_timeout, max_parallel=args.parallel)
    clean = Settings(read_timeout=args.read_timeout, max_parallel=args.parallel)
    clean_load = Settings(read_timeout=args.read_timeout, max_parallel=args.parallel, page_size=LOAD_PAGE_SIZE)
    reports: list[RunReport] = []
    baselines: list[RunReport] = []

    def go(scenario: projects.Scenario, run_seed: int, settings: Settings, into: list[RunReport]) -> None:
        began = time.monotonic()
        report = run(orb, scenario, run_seed, settings, workdir)
        into.append(report)
        mark = "ok" if not report.violations else f"{len(report.violations)} violation(s)"
        mark += "".join(f"; trigger refused: {line}" for line in report.refused)
        print(
            f"soak: {scenario.name} seed {run_seed} rate {settings.rate:g}: {mark}, "
            f"{sum(report.injected.values())} fault(s), {time.monotonic() - began:.1f}s",
            file=sys.stderr,
        )

    for index in range(args.runs):
        go(pair_for(orb, seed + index), seed + index, faulted, reports)
    for index in range(args.baseline if args.runs else 0):
        go(pair_for(orb, seed + index), seed + index, clean, baselines)
    loaded = Settings(
        rate=args.rate,
        rate_limit=(args.rate_limit, RATE_LIMIT[1]),
        read_timeout=args.read_timeout,
        max_parallel=args.parallel,
        page_size=LOAD_PAGE_SIZE,
    )
    for run_seed in range(seed, seed + args.seeds):
        if args.load:
            go(projects.load(orb, args.load, load_outcomes(run_seed)), run_seed, loaded, reports)
        if args.fan_out:
            go(projects.fan_out(orb, fan_out_outcomes(run_seed, args.fan_out)), run_seed, loaded, reports)
    # Fault-free and unlimited, once each (the first seed's outcomes), for the times to compare with.
    if args.load:
        go(projects.load(orb, args.load, load_outcomes(seed)), seed, clean_load, baselines)
    if args.fan_out:
        go(projects.fan_out(orb, fan_out_outcomes(seed, args.fan_out)), seed, clean_load, baselines)
    return reports, baselines


def load_outcomes(seed: int) -> list[int]:
    """Whether the load's one B passes (0) or fails (1), by the seed."""
    return [random.Random(seed).choice((0, 1))]  # noqa: S311 - seeded on purpose


def fan_out_outcomes(seed: int, count: int) -> list[int]:
    """Whether each fanned-out B passes (0) or fails (1), by the seed."""
    rng = random.Random(seed)  # noqa: S311 - seeded on purpose
    return [rng.choice((0, 1)) for _ in range(count)]


def pair_for(orb: Path, seed: int) -> projects.Scenario:
    """The A+B pair of a seed: B's tests pass or fail, B circles back from a final job or post-steps."""
    rng = random.Random(seed)  # noqa: S311 - seeded on purpose
    return projects.pair(orb, rng.choice((0, 1)), rng.choice(sorted(projects.STYLES)))
