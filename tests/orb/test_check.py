"""``python -m tools.orbkit check`` as a whole, and the version rule it adds."""

from __future__ import annotations

import copy

from cb_helper import __version__
from tests.orb.runstep import packed_orb
from tools.orbkit.check import ORB_REF, collect, example_version_problems


def test_every_section_passes_on_the_real_orb() -> None:
    sections = collect(write_dist=False)
    assert [s.name for s in sections if s.problems] == []
    assert {s.name.split()[0] for s in sections} >= {
        "pack",
        "schema",
        "semantic",
        "review",
        "footprint",
        "shellcheck",
        "yamllint",
    }
    [review] = [s for s in sections if s.name.startswith("review")]
    # Without CIRCLE_TAG, RC011 checks against the tag this version will be released under.
    assert [note.split()[0] for note in review.notes] == ["RC006", "RC007"]


def test_examples_must_import_the_current_version() -> None:
    assert example_version_problems(packed_orb(), __version__) == []
    orb = copy.deepcopy(packed_orb())
    orb["examples"]["circleci_server_host"]["usage"]["orbs"]["circleback"] = f"{ORB_REF}@9.9"
    problems = example_version_problems(orb, __version__)
    assert len(problems) == 1
    assert "circleci_server_host" in problems[0]
