"""The packed orb's footprint: its size, its largest ``run`` command, each orb job as CircleCI compiles it,
and the compiled config of an A fanning out to 1, 5 and 20 downstreams (one trigger, hold and check each).

``python benchmarks/bench_footprint.py`` (also part of ``make bench``); sizes, not times, so one run is enough.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tools.orbkit

from tools.orbkit.bundle import build_orb
from tools.orbkit.footprint import (
    COMMAND_BUDGET,
    FAN_OUT_BUDGET,
    JOB_BUDGET,
    compiled_size,
    fan_out_config,
    job_expansions,
    run_commands,
)
from tools.orbkit.goyaml import load_text

DOWNSTREAMS = (1, 5, 20)


def _kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB"


def report() -> None:
    text = build_orb()
    orb = load_text(text, "packed orb")
    print("orb footprint (sizes in bytes of UTF-8):")
    print(f"  packed orb: {len(text.encode())} ({_kib(len(text.encode()))})")
    largest = max(run_commands(orb), key=lambda s: s.size)
    print(f"  largest run command: {largest.size} ({_kib(largest.size)}), {largest.where}; budget {COMMAND_BUDGET}")
    for job in job_expansions(orb):
        print(f"  {job.where} compiled: {job.size} ({_kib(job.size)}); budget {JOB_BUDGET}")
    for count in DOWNSTREAMS:
        size = compiled_size(fan_out_config(orb, count), orb)
        per = size / count / 1000
        print(f"  A fanning out to {count:2d}: {size} ({size / 1e6:.2f} MB; {per:.0f} KB per downstream)")
    print(f"  (budget for 20 downstreams: {FAN_OUT_BUDGET}; CircleCI's cap on a compiled config: 8 MB)")


if __name__ == "__main__":
    report()
