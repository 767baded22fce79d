"""Shared fixtures: a running CircleCI simulator for every test that needs an API to talk to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cb_helper.sim import SimServer, SimState

PROJECT_A = "gh/acme/project-a"
PROJECT_B = "gh/acme/project-b"


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """A started simulator with fresh state and the projects gh/acme/project-a and -b (branch main)."""
    state = SimState()
    state.add_project(PROJECT_B)
    state.add_project(PROJECT_A)
    with SimServer(state) as server:
        yield server
        assert not server.internal_errors, "the simulator hit a bug:\n" + "\n".join(server.internal_errors)


@pytest.fixture
def sim_env(sim: SimServer) -> dict[str, str]:
    """The environment cb-helper reads to talk to ``sim``."""
    return {"CIRCLECI_HOST": sim.url, "CIRCLE_TOKEN": sim.token}
