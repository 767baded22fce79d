"""The soak's one table: runs, faults injected by kind, invariant violations, time to verdict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cb_helper.sim.chaos import CHAOS_KINDS
from tools.soak.invariants import INVARIANTS
from tools.soak.run import RunReport


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def row_name(report: RunReport) -> str:
    """The pair's runs share one row; each run of a scenario under the rate limit has its own, by seed."""
    return f"{report.scenario} (seed {report.seed})" if report.settings.rate_limit else report.scenario


def table(reports: Sequence[RunReport], baselines: Sequence[RunReport]) -> str:
    """Markdown: one row per scenario (per seed under the rate limit), then faults by kind, violations by invariant."""
    lines = [
        "| scenario | runs | verdicts | triggers refused | requests | faults | rate-limited | sweeps | violations "
        "| verdict p50 / p95 (s) | fault-free p50 / p95 (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(row_name(r) for r in reports):
        mine = [r for r in reports if row_name(r) == name]
        base = [r for r in baselines if r.scenario == mine[0].scenario]
        times = [t for r in mine for t in r.verdict_seconds]
        clean = [t for r in base for t in r.verdict_seconds]
        lines.append(
            f"| {name} | {len(mine)} | {len(times)} | {sum(len(r.refused) for r in mine)} "
            f"| {sum(r.requests for r in mine)} "
            f"| {sum(sum(r.injected.values()) for r in mine)} | {sum(r.injected.get('rate_limit', 0) for r in mine)} "
            f"| {sum(r.sweeps for r in mine)} "
            f"| {sum(len(r.violations) for r in mine)} "
            f"| {percentile(times, 0.5):.1f} / {percentile(times, 0.95):.1f} "
            f"| {_pair(clean)} |"
        )
    injected: Counter[str] = Counter()
    for report in reports:
        injected.update(report.injected)
    kinds = [*CHAOS_KINDS, "rate_limit", *sorted(set(injected) - {*CHAOS_KINDS, "rate_limit"})]
    lines += ["", "| fault | injected |", "|---|---:|"]
    lines += [f"| {kind} | {injected.get(kind, 0)} |" for kind in kinds]
    violated: Counter[str] = Counter(v.partition(":")[0] for r in reports for v in r.violations)
    lines += ["", "| invariant | violations |", "|---|---:|"]
    lines += [f"| {name} | {violated.get(name, 0)} |" for name in INVARIANTS]
    return "\n".join(lines)


def _pair(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 0.5):.1f} / {percentile(values, 0.95):.1f}"
