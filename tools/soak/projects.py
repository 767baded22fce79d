"""The projects a soak run rehearses, built from the packed orb's usage examples.

A *link* is one trigger of A, its hold, its check and the downstream project it triggers. A scenario is
a set of upstream projects (each with its links) and downstream projects (each with its tests' outcome).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cb_helper.rehearse.examples import (
    CIRCLEBACK_PARAMETER,
    declare,
    example_config,
    localize,
    set_arguments,
    write_config,
)

A = "gh/acme/project-a"
B = "gh/acme/project-b"
UPSTREAM = "trigger_and_wait_for_downstream"
FAN_OUT = "fan_out_to_two_projects"
STYLES = {"final-job": "circle_back_with_final_job", "post-steps": "circle_back_with_post_steps"}
CHECK_STEP = "Check the downstream pipeline"
#: How long a trigger gives its downstream before the sweeper may release A (short, so runs can check it).
DEADLINE = "10m"

#: B's tests: the file ``outcome`` beside the script holds their exit code.
RUN_TESTS = """#!/usr/bin/env bash
outcome="$(cat "$(dirname "$0")/outcome")"
echo "running ${1:-all} tests (outcome: $outcome)"
exit "$outcome"
"""


@dataclass(frozen=True)
class Link:
    trigger: str
    hold: str
    check: str
    downstream: str


@dataclass
class Upstream:
    slug: str
    config: dict[str, Any]
    links: list[Link]


@dataclass
class Scenario:
    """What one soak run rehearses. ``outcomes``: each downstream project's tests' exit code."""

    name: str
    upstreams: list[Upstream]
    outcomes: dict[str, int]
    style: str = "final-job"
    downstream_configs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _upstream(orb: Path, slug: str, downstream: str) -> Upstream:
    config = example_config(orb, UPSTREAM)
    set_arguments(config, "trigger-project-b", {"project_slug": downstream, "deadline": DEADLINE})
    link = Link("trigger-project-b", "wait-for-triggered-pipeline", "check-project-b", downstream)
    return Upstream(slug, config, [link])


def _downstream(orb: Path, style: str, allowed: list[str]) -> dict[str, Any]:
    config = declare(example_config(orb, STYLES[style]), CIRCLEBACK_PARAMETER)
    if style == "final-job":
        set_arguments(config, "circleback/circle_back", {"allowed_projects": " ".join(allowed)})
    return config


def pair(orb: Path, outcome: int, style: str) -> Scenario:
    """One A triggering one B: the pattern as the README shows it."""
    scenario = Scenario("pair", [_upstream(orb, A, B)], {B: outcome}, style)
    scenario.downstream_configs[B] = _downstream(orb, style, [A])
    return scenario


def load(orb: Path, count: int, outcomes: list[int]) -> Scenario:
    """``count`` A projects started at once, each triggering the same B."""
    slugs = [f"gh/acme/project-a{index:02d}" for index in range(count)]
    upstreams = [_upstream(orb, slug, B) for slug in slugs]
    scenario = Scenario("load", upstreams, {B: outcomes[0]})
    scenario.downstream_configs[B] = _downstream(orb, "final-job", slugs)
    return scenario


def fan_out(orb: Path, outcomes: list[int]) -> Scenario:
    """One A triggering ``len(outcomes)`` B projects, one hold and one check each."""
    base = example_config(orb, FAN_OUT)
    entries = base["workflows"]["integrate"]["jobs"]
    trigger, hold, check = (copy.deepcopy(entries[i]) for i in (0, 2, 4))
    jobs: list[Any] = []
    links: list[Link] = []
    outcome_of: dict[str, int] = {}
    for index, outcome in enumerate(outcomes):
        suffix = f"b{index:02d}"
        slug = f"gh/acme/project-{suffix}"
        names = Link(f"trigger-{suffix}", f"wait-for-{suffix}", f"check-{suffix}", slug)
        jobs.append(
            _entry(
                trigger,
                name=names.trigger,
                project_slug=slug,
                hold_job=names.hold,
                pipeline_id_file=suffix,
                deadline=DEADLINE,
            )
        )
        jobs.append({names.hold: {**next(iter(hold.values())), "requires": [names.trigger]}})
        jobs.append(_entry(check, name=names.check, pipeline_id_file=suffix, requires=[names.hold]))
        links.append(names)
        outcome_of[slug] = outcome
    base["workflows"]["integrate"]["jobs"] = jobs
    scenario = Scenario("fan-out", [Upstream(A, base, links)], outcome_of)
    for slug in outcome_of:
        scenario.downstream_configs[slug] = _downstream(orb, "final-job", [A])
    return scenario


def _entry(template: dict[str, Any], **arguments: Any) -> dict[str, Any]:
    reference, given = next(iter(template.items()))
    return {reference: {**dict(given), **arguments}}


def write(scenario: Scenario, root: Path) -> dict[str, Path]:
    """Every project's directory under ``root``; returns slug -> config path."""
    paths: dict[str, Path] = {}
    for index, upstream in enumerate(scenario.upstreams):
        directory = root / f"upstream-{index:02d}"
        paths[upstream.slug] = write_config(localize(copy.deepcopy(upstream.config), directory), directory)
    for index, (slug, outcome) in enumerate(scenario.outcomes.items()):
        directory = root / f"downstream-{index:02d}"
        paths[slug] = write_config(scenario.downstream_configs[slug], directory)
        script = directory / "run-tests.sh"
        script.write_text(RUN_TESTS, encoding="utf-8")
        script.chmod(0o755)
        (directory / "outcome").write_text(str(outcome), encoding="utf-8")
    return paths
