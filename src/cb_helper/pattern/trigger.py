"""Trigger a downstream pipeline and make sure it really started.

The failure modes this guards against: a trigger that "succeeds" without a pipeline id, a pipeline that errors
at config compilation (so it never circles back), a pipeline no workflow runs in, and a trigger re-sent after an
ambiguous failure (which would start the downstream twice).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.api.errors import AmbiguousRequest, ApiError, BadInput, DownstreamCanceled, WaitTimeout
from cb_helper.api.polling import Poller
from cb_helper.api.times import format_duration, format_time, now, parse_time
from cb_helper.api.vocabulary import ProjectSlug, check_parameter_limits, is_uuid, parse_uuid, same_project
from cb_helper.pattern.record import Record

log = logging.getLogger("cb_helper")

#: Allowed clock skew: how long before the trigger was sent a pipeline may have been created and still be
#: taken as the one it created, after an ambiguous failure.
RECOVERY_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class TriggerRequest:
    """A validated trigger: build it with :meth:`build`, which raises :class:`BadInput` on bad values."""

    project: ProjectSlug
    branch: Optional[str]
    tag: Optional[str]
    parameters: dict[str, Any] = field(default_factory=dict)
    definition_id: Optional[str] = None

    @classmethod
    def build(
        cls,
        project: str,
        *,
        branch: Optional[str] = None,
        tag: Optional[str] = None,
        parameters: Optional[dict[str, Any]] = None,
        definition_id: Optional[str] = None,
    ) -> TriggerRequest:
        slug = ProjectSlug.parse(project)
        if (branch is None) == (tag is None):
            raise BadInput("give exactly one of --branch and --tag (got " + ("both" if branch else "neither") + ")")
        ref = branch if branch is not None else tag
        if not ref or not ref.strip() or any(ch.isspace() for ch in ref):
            kind = "branch" if branch is not None else "tag"
            raise BadInput(f"{kind} {ref!r} is not a valid git ref name (expected e.g. main)")
        definition = parse_uuid(definition_id, "--definition-id") if definition_id is not None else None
        params = dict(parameters or {})
        check_parameter_limits(params)
        return cls(slug, branch, tag, params, definition)

    @property
    def uses_run_endpoint(self) -> bool:
        """``circleci/...`` slugs and any ``definition_id`` need ``POST .../pipeline/run``."""
        return not self.project.is_legacy or self.definition_id is not None

    def endpoint(self) -> str:
        slug = self.project
        if self.uses_run_endpoint:
            return f"/project/{slug.provider}/{slug.organization}/{slug.project}/pipeline/run"
        return f"/project/{slug}/pipeline"

    def body(self) -> dict[str, Any]:
        ref = {"branch": self.branch} if self.branch is not None else {"tag": self.tag}
        body: dict[str, Any]
        if self.uses_run_endpoint:
            body = {"config": dict(ref), "checkout": dict(ref)}
            if self.definition_id:
                body["definition_id"] = self.definition_id
        else:
            body = dict(ref)
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class TriggerResult:
    pipeline: dict[str, Any]
    workflows: list[dict[str, Any]] = field(default_factory=list)
    recovered: bool = False
    #: Started in its setup phase (dynamic config): ``workflows`` is the setup workflow, which continues it.
    in_setup: bool = False

    @property
    def id(self) -> str:
        return str(self.pipeline["id"])


def trigger(client: CircleCIClient, request: TriggerRequest) -> TriggerResult:
    """Send the trigger; after an ambiguous failure, look for the pipeline it may have created.

    The pipeline found is adopted. When every look succeeded and none appeared, the server did not act on the
    trigger, and it is sent again (at most as many times as the retry policy tries a request). When the looks
    could not be made, or several pipelines match, nothing is re-sent.
    """
    started = now()
    attempt = 0
    while True:
        attempt += 1
        try:
            answer = client.post(request.endpoint(), request.body())
            break
        except AmbiguousRequest as exc:
            found, absent, problem = _recover(client, request, started)
            if found is not None:
                log.warning("the trigger's answer was lost, but pipeline %s was created by it; using it", found["id"])
                return TriggerResult(found, recovered=True)
            if absent and attempt < client.retry.max_attempts:
                log.warning("the trigger's answer was lost and no pipeline appeared on %s; sent again", request.project)
                continue
            where = f"{client.base_url}/project/{request.project}/pipeline"
            if problem:
                outcome = f"looking for the pipeline it may have created failed ({problem})"
            elif absent:
                outcome = f"no pipeline it could have created was found on {request.project} after {attempt} attempts"
            else:
                outcome = f"several recent pipelines on {request.project} could be the one it created"
            raise AmbiguousRequest(
                f"{exc}; {outcome}. {request.project} may already have been triggered: check its recent pipelines "
                f"(the project's Pipelines page, or GET {where}) before triggering again"
            ) from None
    if isinstance(answer, dict) and "id" not in answer and isinstance(answer.get("message"), str):
        # POST .../pipeline/run answers 200 {message} when it decided not to create a pipeline.
        raise DownstreamCanceled(f"no pipeline was created on {request.project}: {answer['message']}")
    if not isinstance(answer, dict) or not is_uuid(answer.get("id")):
        raise ApiError("POST", request.endpoint(), None, "the answer has no pipeline id; nothing to wait for")
    return TriggerResult(answer)


#: How much of B's own deadline B keeps for itself when it triggers C: its check of C and its circle-back to A.
CHAIN_MARGIN = timedelta(minutes=10)
#: How far a hold's requirements are followed to name the chain of jobs between it and the trigger.
MAX_CHAIN = 20


@dataclass(frozen=True)
class Deadline:
    """The deadline a record gets, and why (logged, so that a user can see which one was used)."""

    at: datetime
    reason: str


def upstream_record(
    client: CircleCIClient,
    workflow_id: str,
    hold: str,
    deadline: timedelta,
    downstream: ProjectSlug,
    *,
    trigger_job: Optional[str] = None,
    upstream: Optional[Record] = None,
    margin: timedelta = CHAIN_MARGIN,
) -> Record:
    """The record naming this workflow's hold, read from the API (not from what the caller claims).

    The workflow gives the project slug, pipeline id and number; its jobs must wire the hold so that the
    promise can be kept (:func:`check_wiring`), or nothing is triggered. With ``upstream`` (this pipeline was
    itself triggered with a record), the deadline is capped by :func:`chain_deadline`.
    """
    workflow = client.get(f"/workflow/{workflow_id}")
    jobs = list(client.paginate(f"/workflow/{workflow_id}/job"))
    for warning in check_wiring(jobs, hold, trigger_job, workflow_id):
        log.warning("%s", warning)
    chosen = chain_deadline(now(), deadline, upstream, margin)
    log.info("deadline %s: %s", format_time(chosen.at), chosen.reason)
    return Record(
        project=str(workflow.get("project_slug")),
        pipeline_id=str(workflow.get("pipeline_id")),
        pipeline_number=int(workflow.get("pipeline_number") or 0),
        workflow_id=workflow_id,
        hold=hold,
        deadline=chosen.at,
        downstream=str(downstream),
    )


#: The project setting that cancels a branch's running workflows when a newer pipeline starts on it.
AUTO_CANCEL_SETTING = "Auto-cancel redundant workflows"


def auto_cancel_warning(client: CircleCIClient, record: Record, request: TriggerRequest) -> Optional[str]:
    """One line when triggering B may cancel A itself: B is A's own project, on A's branch, not the default branch.

    With the project setting on, CircleCI cancels the running workflows of a non-default branch when a newer
    pipeline starts on it, API-triggered ones included, so A's held workflow would be canceled by its own B.
    The setting cannot be read through API v2, so this warns whatever its value. Look-ups that fail stay quiet.
    """
    if request.branch is None or not same_project(record.project, str(request.project)):
        return None
    try:
        upstream = client.get(f"/pipeline/{record.pipeline_id}")
        project = client.get(f"/project/{request.project}")
    except ApiError:
        return None
    branch = (upstream.get("vcs") or {}).get("branch")
    default = (project.get("vcs_info") or {}).get("default_branch")
    if branch != request.branch or branch == default:
        return None
    return (
        f"the downstream is this project ({request.project}) on this pipeline's branch {branch!r}, not its default "
        f"branch: with the project setting {AUTO_CANCEL_SETTING!r} on, triggering it cancels this workflow, its "
        "hold included; trigger another branch, or turn the setting off"
    )


def check_wiring(jobs: Sequence[dict[str, Any]], hold: str, trigger_job: Optional[str], workflow_id: str) -> list[str]:
    """Refuse (:class:`BadInput`, exit 2) a wiring the promise cannot be kept for; return warnings for the rest.

    B proves its record, and the sweeper finds the hold, through the handoff the trigger job stores: only the
    jobs the hold requires *directly* are read. So the hold must be an approval job of this workflow that
    requires this trigger job (``trigger_job``, the orb passes ``$CIRCLE_JOB``) directly. Following the hold's
    requirements through build jobs instead would let any job between them vouch for a record, and cost every
    proof and sweep more calls; requiring the trigger directly is a one-word fix, and ``cb-helper lint`` finds
    it before anything runs. A hold nothing requires is allowed with a warning: A is released, but no check
    reads B's verdict.
    """
    by_name = {str(job.get("name")): job for job in jobs}
    job = by_name.get(hold)
    if job is None or job.get("type") != "approval":
        what = "no job" if job is None else f"a {job.get('type')} job, not an approval job,"
        names = ", ".join(sorted(str(j.get("name")) for j in jobs if j.get("type") == "approval")) or "none"
        raise BadInput(
            f"workflow {workflow_id} has {what} named {hold!r} (its approval jobs: {names}); "
            "nothing triggered. Name the approval job that follows the trigger"
        )
    warnings = []
    requires = [str(d) for d in job.get("dependencies") or []]
    by_id = {str(j.get("id")): j for j in jobs}
    me = by_name.get(trigger_job) if trigger_job else None
    if me is None:
        if trigger_job:
            warnings.append(
                f"this job {trigger_job!r} is not among the jobs of workflow {workflow_id}; "
                f"cannot check that {hold!r} requires it"
            )
        if not any(by_id.get(d, {}).get("type") == "build" for d in requires):
            raise BadInput(
                f"approval job {hold!r} requires no build job, so nothing it requires can store the handoff and "
                f"it goes on hold before B is triggered; nothing triggered. Add the trigger job to the requires "
                f"of {hold!r}"
            )
    elif str(me.get("id")) not in requires:
        mine = str(me.get("name"))
        path = _requirement_path(job, str(me.get("id")), by_id)
        if path:
            chain = " -> ".join([mine, *path[::-1], hold])
            how = f"it requires {mine!r} only through other jobs ({chain})"
        else:
            listed = ", ".join(str(by_id.get(d, {}).get("name", d)) for d in requires) or "nothing"
            how = f"it does not require {mine!r} at all (it requires: {listed})"
        raise BadInput(
            f"approval job {hold!r} must require this trigger job {mine!r} directly: {how}, so B could not prove "
            f"its record and no sweep would find the hold; nothing triggered. Add {mine} to the requires of "
            f"{hold} (requires: [{', '.join([*(str(by_id.get(d, {}).get('name', d)) for d in requires), mine])}])"
        )
    hold_id = str(job.get("id"))
    if not any(hold_id in [str(d) for d in j.get("dependencies") or []] for j in jobs):
        warnings.append(
            f"no job requires {hold!r}: A is released when B circles back, but nothing reads B's verdict; "
            f"add circleback/check_status with requires: [{hold}]"
        )
    return warnings


def _requirement_path(hold: dict[str, Any], target: str, by_id: dict[str, dict[str, Any]]) -> list[str]:
    """Names of the jobs from ``hold``'s requirements down to ``target`` (exclusive), or ``[]`` if none leads."""
    frontier: list[tuple[str, list[str]]] = [(str(d), []) for d in hold.get("dependencies") or []]
    seen: set[str] = set()
    while frontier:
        job_id, path = frontier.pop(0)
        if job_id == target:
            return path
        if job_id in seen or len(path) >= MAX_CHAIN:
            continue
        seen.add(job_id)
        job = by_id.get(job_id, {})
        frontier.extend((str(d), [*path, str(job.get("name"))]) for d in job.get("dependencies") or [])
    return []


def chain_deadline(moment: datetime, wanted: timedelta, upstream: Optional[Record], margin: timedelta) -> Deadline:
    """``moment + wanted``, capped at the upstream record's deadline less ``margin`` when there is one.

    In a chain A -> B -> C, C must be done before B's own deadline, leaving B ``margin`` for its check of C and
    its circle-back to A. An upstream deadline that leaves no time is refused (:class:`WaitTimeout`, exit 4)
    before anything is triggered.
    """
    own = (moment + wanted).replace(microsecond=0)
    if upstream is None:
        return Deadline(own, f"now + {format_duration(wanted)} (--deadline)")
    cap = (upstream.deadline - margin).replace(microsecond=0)
    if cap <= moment:
        raise WaitTimeout(
            f"the upstream's deadline {format_time(upstream.deadline)} less the margin {format_duration(margin)} "
            f"for this pipeline's own check and circle-back has passed; nothing triggered"
        )
    if cap < own:
        return Deadline(
            cap,
            f"the upstream's deadline {format_time(upstream.deadline)} ({upstream.project} #"
            f"{upstream.pipeline_number}) less {format_duration(margin)} for this pipeline's check and "
            f"circle-back, earlier than now + {format_duration(wanted)}",
        )
    return Deadline(
        own,
        f"now + {format_duration(wanted)} (--deadline), before the upstream's deadline "
        f"{format_time(upstream.deadline)} less {format_duration(margin)}",
    )


def verify_started(
    client: CircleCIClient,
    result: TriggerResult,
    poller: Poller,
    on_progress: Optional[Callable[[str], None]] = None,
) -> TriggerResult:
    """Poll until the pipeline is ``created`` with at least one workflow, or in its setup phase with its setup
    workflow running (a dynamic config); fail at once if it ``errored``."""
    pipeline_id = result.id
    while True:
        pipeline = client.get(f"/pipeline/{pipeline_id}")
        result.pipeline = {**result.pipeline, **pipeline}
        state = pipeline.get("state")
        if state == "errored":
            raise DownstreamCanceled(_errored_message(pipeline))
        if state in SETUP_STATES:
            detail = _setup_progress(client, result, str(state))
            if result.in_setup:
                return result
        elif state == "created":
            result.workflows = list(client.paginate(f"/pipeline/{pipeline_id}/workflow"))
            if result.workflows:
                return result
            detail = "created, no workflow yet"
        else:
            detail = f"state {state}"
        if on_progress:
            on_progress(f"pipeline {pipeline_id}: {detail}")
        if not poller.wait():
            hint = (
                " (the pipeline exists but no workflow ran: filters or a `when` may exclude this branch or tag)"
                if state == "created"
                else ""
            )
            raise WaitTimeout(f"pipeline {pipeline_id} did not start within {poller.timeout:g}s: {detail}{hint}")


#: The states of a dynamic config's setup phase: the setup workflow runs, then continues the pipeline.
SETUP_STATES = frozenset({"setup-pending", "setup", "pending"})


def _setup_progress(client: CircleCIClient, result: TriggerResult, state: str) -> str:
    """A pipeline in its setup phase has started once its setup workflow runs (``result.in_setup`` is then set):
    how long the setup takes is the downstream's business, as its build is for any other pipeline. A setup
    workflow that finished without success never continues it, so nothing will circle back.
    """
    if state == "setup-pending":
        return "state setup-pending (a dynamic config whose setup workflow is not created yet)"
    if state == "pending":
        return "state pending (continued by its setup workflow, its config compiling)"
    workflows = list(client.paginate(f"/pipeline/{result.id}/workflow"))
    running = [w for w in workflows if w.get("status") in ("running", "on_hold", "failing")]
    if running:
        result.workflows, result.in_setup = workflows, True
        return "in setup"
    failed = [w for w in workflows if w.get("status") not in (None, "success", "running", "on_hold", "failing")]
    if failed:
        names = ", ".join(f"{w.get('name')} ({w.get('status')})" for w in failed)
        raise DownstreamCanceled(
            f"pipeline {result.id} on {result.pipeline.get('project_slug')} ended its setup without continuing: "
            f"setup workflow {names}; it will run nothing and never circle back"
        )
    return "state setup (no setup workflow running yet)"


def _errored_message(pipeline: dict[str, Any]) -> str:
    errors = pipeline.get("errors") or []
    texts = [f"{e.get('type', 'error')}: {e.get('message', '')}".strip() for e in errors if isinstance(e, dict)]
    number = pipeline.get("number")
    head = f"pipeline {pipeline.get('id')} (#{number}) on {pipeline.get('project_slug')} errored and will not run"
    return head + (": " + "; ".join(texts) if texts else "")


def _recover(
    client: CircleCIClient, request: TriggerRequest, started: datetime
) -> tuple[Optional[dict[str, Any]], bool, Optional[str]]:
    """After an ambiguous trigger: (the one pipeline it created or ``None``, True when it surely created none,
    why the look-up failed or ``None``).

    A server that answered too late may still be creating it, so an empty look is repeated, after the retry
    policy's backoff (its longest, no jitter), as many times as a request is tried. Only when every look
    succeeded and found nothing is the trigger known to have created nothing. Nothing escapes from here:
    whatever fails, the caller must still tell the user that the trigger may have taken effect.
    """
    for look in range(1, client.retry.max_attempts + 1):
        found, settled, problem = _look(client, request, started)
        if found is not None or settled:
            return found, False, problem
        if look < client.retry.max_attempts:
            client.pause(client.retry.ceiling(look))
    return None, True, None


def _look(
    client: CircleCIClient, request: TriggerRequest, started: datetime
) -> tuple[Optional[dict[str, Any]], bool, Optional[str]]:
    """(the one pipeline this trigger created or ``None``, True when looking again cannot help, a failure)."""
    try:
        me = client.get("/me")
        login = me.get("login") if isinstance(me, dict) else None
        candidates = []
        for pipeline in client.paginate(f"/project/{request.project}/pipeline"):
            created = parse_time(pipeline.get("created_at"))
            if created is None or created < started - RECOVERY_WINDOW:
                break  # newest first: the rest are older still
            if _matches(pipeline, request, login):
                candidates.append(pipeline)
    except Exception as exc:  # network errors, API errors, odd answers: none may hide the ambiguity
        return None, True, str(exc) or type(exc).__name__
    if len(candidates) == 1:
        return candidates[0], True, None
    if len(candidates) > 1:
        ids = ", ".join(str(p.get("id")) for p in candidates)
        log.warning("several recent pipelines match this trigger (%s); not guessing", ids)
        return None, True, None
    return None, False, None


def _matches(pipeline: dict[str, Any], request: TriggerRequest, login: Optional[str]) -> bool:
    trigger_info = pipeline.get("trigger") or {}
    if trigger_info.get("type") not in (None, "api"):
        return False
    actor = (trigger_info.get("actor") or {}).get("login")
    if login and actor and actor != login:
        return False
    vcs = pipeline.get("vcs") or {}
    if request.branch is not None and vcs.get("branch") not in (None, request.branch):
        return False
    if request.tag is not None and vcs.get("tag") not in (None, request.tag):
        return False
    sent = pipeline.get("trigger_parameters")
    if isinstance(sent, dict) and request.parameters:
        flat = sent.get("parameters", sent)
        if isinstance(flat, dict) and any(flat.get(k) != v for k, v in request.parameters.items()):
            return False
    return True
