"""An embedded CircleCI API v2 simulator, held to CircleCI's published OpenAPI spec.

``SimState`` holds everything (thread-safe); ``SimServer`` serves it over HTTP on loopback;
``FaultPlan`` injects failures; ``SimEvent`` is what listeners hear. See ``docs/simulator.md``.
Importing :mod:`cb_helper` does not import this package.
"""

from __future__ import annotations

from cb_helper.sim.effects import Effect
from cb_helper.sim.faults import Fault, FaultPlan
from cb_helper.sim.model import RequestRecord, SimEvent
from cb_helper.sim.server import Exchange, SimServer
from cb_helper.sim.state import SimState

__all__ = ["Effect", "Exchange", "Fault", "FaultPlan", "RequestRecord", "SimEvent", "SimServer", "SimState"]
