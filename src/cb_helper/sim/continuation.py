"""Dynamic configuration: a pipeline's setup phase and ``POST /pipeline/continue``.

A pipeline whose config says ``setup: true`` goes ``setup-pending`` (its key issued) -> ``setup`` (its setup
workflow runs) -> ``pending`` (continued: the continuation config is compiling) -> ``created`` (its workflows
run). The setup workflow's job continues it with the key in ``CIRCLE_CONTINUATION_KEY``. The constraints are
CircleCI's ("Config continuation constraints" in its dynamic configuration docs): a pipeline is continued once,
within six hours of its creation, never with another setup config, and the parameters given at continuation
time may not repeat those given when it was triggered (those stay, and the continuation config must declare
them). The message wording is the simulator's own (invented), see docs/simulator.md.
"""

from __future__ import annotations

import copy
import datetime as _dt
import secrets
from collections.abc import Mapping
from typing import Any, Callable, Optional

import yaml

from cb_helper.sim.model import Pipeline, SimEvent, now
from cb_helper.sim.store import Store

#: How long after its creation a pipeline can still be continued.
CONTINUATION_WINDOW = _dt.timedelta(hours=6)
#: The prefix of every refusal that concerns the continuation config itself (invented wording).
COMPILE_ERRORS = "config compilation contains errors: "

#: ``check(pipeline, configuration, parameters)``: why the continuation config would not compile, or ``None``.
ContinuationCheck = Callable[[Pipeline, str, Mapping[str, Any]], Optional[str]]


class ContinuationRefused(ValueError):
    """The continue request cannot be honoured; carries the HTTP status and message to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Continuations(Store):
    """The setup-phase half of :class:`~cb_helper.sim.state.SimState`."""

    #: Set by a driver that compiles configs (the rehearsal runner): checks a continuation config before it is
    #: accepted, as CircleCI compiles it before answering. ``None``: only the simulator's own checks apply.
    continuation_check: Optional[ContinuationCheck] = None

    def begin_setup(self, pipeline_id: str) -> str:
        """The pipeline's config is a setup config: state ``setup-pending``; returns its continuation key."""
        with self.lock:
            pipeline = self._get(self._pipelines, pipeline_id, "pipeline")
            if pipeline.continuation_key is None:
                pipeline.continuation_key = secrets.token_hex(32)
                self._continuations[pipeline.continuation_key] = pipeline.id
            pipeline.state = "setup-pending"
            pipeline.updated_at = now()
            return pipeline.continuation_key

    def continue_pipeline(
        self, key: str, configuration: str, parameters: Optional[Mapping[str, Any]] = None
    ) -> Pipeline:
        """What ``POST /pipeline/continue`` does; raises :class:`ContinuationRefused` before changing anything."""
        given = dict(parameters or {})
        with self.lock:
            pipeline_id = self._continuations.get(key) if isinstance(key, str) else None
            if pipeline_id is None:
                raise ContinuationRefused(400, "Invalid continuation key.")
            pipeline = self._pipelines[pipeline_id]
            if pipeline.continued:
                raise ContinuationRefused(400, "This pipeline has already been continued.")
            if pipeline.state not in ("setup-pending", "setup"):
                raise ContinuationRefused(400, f"This pipeline is not in its setup phase (it is {pipeline.state}).")
            if now() - pipeline.created_at > CONTINUATION_WINDOW:
                raise ContinuationRefused(400, "The continuation key has expired (6 hours after the pipeline began).")
            problem = _config_problem(configuration)
            repeated = sorted(set(given) & set(pipeline.parameters))
            if problem is None and repeated:
                problem = (
                    f"pipeline parameter(s) {', '.join(repeated)} were given when the pipeline was triggered and "
                    "cannot be given again at continuation time"
                )
            snapshot = copy.deepcopy(pipeline)
        check = self.continuation_check
        if problem is None and check is not None:
            problem = check(snapshot, configuration, {**snapshot.parameters, **given})
        if problem is not None:
            raise ContinuationRefused(400, COMPILE_ERRORS + problem)
        with self.lock:
            if pipeline.continued:  # another request won the race while the config was checked
                raise ContinuationRefused(400, "This pipeline has already been continued.")
            pipeline.continued = True
            pipeline.state = "pending"
            pipeline.updated_at = now()
            result = copy.deepcopy(pipeline)
        data = {"configuration": configuration, "parameters": {**result.parameters, **given}}
        self._emit(SimEvent("pipeline_continued", result.id, data=data))
        return result


def _config_problem(configuration: str) -> Optional[str]:
    """What CircleCI refuses in any continuation config, before compiling it."""
    try:
        data = yaml.safe_load(configuration)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return f"the configuration is not valid YAML{where}"
    if not isinstance(data, dict):
        return "the configuration is not a mapping (expected a CircleCI config)"
    if str(data.get("version")) != "2.1":
        return f"the configuration has version {data.get('version')!r} (expected 2.1)"
    if data.get("setup"):
        return "a continuation config cannot itself be a setup config (setup: true)"
    return None
