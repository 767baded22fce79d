"""Shared fixtures: a running CircleCI simulator for every test that needs an API to talk to.

Every exchange with the ``sim`` fixture is validated against CircleCI's OpenAPI spec
(``tests/contract/spec.py``): a test fails at teardown if the simulator sent a response, or the code
under test sent a request, that the spec does not allow. A test that sends malformed requests on
purpose marks itself ``@pytest.mark.sim_bad_requests`` (responses are still checked).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cb_helper.sim import SimServer, SimState
from tests.contract.spec import ContractChecker, warm_up

PROJECT_A = "gh/acme/project-a"
PROJECT_B = "gh/acme/project-b"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sim_bad_requests: the test sends requests the spec forbids; only responses are validated"
    )
    # openapi-core warns about the spec's (legal, if deprecated) allowEmptyValue on every validation.
    config.addinivalue_line("filterwarnings", "ignore:Use of allowEmptyValue property is deprecated:DeprecationWarning")


@pytest.fixture(scope="session")
def contract() -> None:
    """CircleCI's spec, loaded and compiled once per test session (per xdist worker)."""
    warm_up()


@pytest.fixture
def sim(request: pytest.FixtureRequest, contract: None) -> Iterator[SimServer]:
    """A started simulator with fresh state and the projects gh/acme/project-a and -b (branch main)."""
    state = SimState()
    state.add_project(PROJECT_B)
    state.add_project(PROJECT_A)
    checker = ContractChecker(check_requests=request.node.get_closest_marker("sim_bad_requests") is None)
    with SimServer(state) as server:
        server.observers.append(checker)
        yield server
    assert not server.internal_errors, "the simulator hit a bug:\n" + "\n".join(server.internal_errors)
    assert not checker.mismatches, "traffic that breaks CircleCI's spec:\n" + "\n".join(checker.mismatches)


@pytest.fixture
def sim_env(sim: SimServer) -> dict[str, str]:
    """The environment cb-helper reads to talk to ``sim``."""
    return {"CIRCLECI_HOST": sim.url, "CIRCLE_TOKEN": sim.token}


class FastClock:
    """A monotonic clock that a sleep moves forward at once: minutes of waiting take no time, and still count.

    Give ``now`` and ``sleep`` to whatever measures and waits (a client, the simulator's fault plan) so that both
    see the same time; every wait is kept in ``slept``.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._now += max(0.0, seconds)


@pytest.fixture
def fast_clock(sim: SimServer) -> FastClock:
    """A :class:`FastClock` the simulator's fault rules already measure their ``seconds`` with."""
    clock = FastClock()
    sim.faults.clock = clock.now
    return clock
