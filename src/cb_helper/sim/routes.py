"""The API v2 routes: a thin router from (method, path, query, token, body) to an answer over the state.

No HTTP here: :mod:`cb_helper.sim.server` parses the wire and writes the answer; faults wrap this
from outside. Messages are CircleCI's where known; the ones marked *invented* are documented as such
in ``docs/simulator.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Union
from urllib.parse import unquote

from cb_helper.api.errors import BadInput
from cb_helper.api.vocabulary import RUN_PROVIDERS, ProjectSlug, is_uuid
from cb_helper.sim import bodies as body_rules
from cb_helper.sim.answer import Answer, Refusal, error
from cb_helper.sim.model import (
    User,
    artifact_json,
    job_details_json,
    job_json,
    pipeline_creation_json,
    pipeline_json,
    project_json,
    test_result_json,
    user_json,
    workflow_json,
)
from cb_helper.sim.paging import Fetch, StalePageToken
from cb_helper.sim.state import ApprovalRefused, ContinuationRefused, SimState

API_PREFIX = "/api/v2"

INVALID_TOKEN = "Invalid token provided."
QUERY_AUTH = (
    "Support for query parameter authentication has been deprecated to improve security. "
    "Please use a supported authentication method such as header-based, or basic authentication."
)
PROJECT_NOT_FOUND = "Project not found"
ACCEPTED = "Accepted."
CI_SKIP_MESSAGE = "Ignoring pipeline due to CI skip in the commit"


@dataclass
class Call:
    """One parsed request; ``token`` is ``None`` when none was sent."""

    method: str
    segments: list[str]  # decoded path segments after /api/v2
    raw_segments: list[str]  # the same, still percent-encoded
    query: dict[str, str]
    token: Optional[str]
    query_token: bool
    body: bytes


class Router:
    """Dispatches calls to handlers bound to one :class:`SimState`."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    def handle(self, call: Call) -> Answer:
        try:
            handler, args = self._route(call)
            if call.query_token:
                raise Refusal(401, QUERY_AUTH)
            user = self.state.user_for_token(call.token)
            if call.token is not None and user is None:
                raise Refusal(401, INVALID_TOKEN)
            return handler(call, user, *args)
        except Refusal as refusal:
            return error(refusal.status, refusal.message)

    # --- routing -------------------------------------------------------------------------------

    def _route(self, call: Call) -> tuple[Callable[..., Answer], list[str]]:
        seg, raw, method = call.segments, call.raw_segments, call.method
        n = len(seg)
        table: list[tuple[str, Callable[..., Answer], list[str]]] = []
        if seg == ["me"]:
            table.append(("GET", self.me, []))
        elif seg[0:1] == ["pipeline"] and n in (2, 3):
            if n == 2:
                table.append(("GET", self.get_pipeline, [seg[1]]))
                if seg[1] == "continue":
                    table.append(("POST", self.continue_pipeline, []))
            elif seg[2] == "workflow":
                table.append(("GET", self.pipeline_workflows, [seg[1]]))
        elif n >= 2 and seg[0] == "workflow":
            if n == 2:
                table.append(("GET", self.get_workflow, [seg[1]]))
            elif n == 3 and seg[2] == "job":
                table.append(("GET", self.workflow_jobs, [seg[1]]))
            elif n == 3 and seg[2] in ("cancel", "rerun"):
                action = self.cancel if seg[2] == "cancel" else self.rerun
                table.append(("POST", action, [seg[1]]))
            elif n == 4 and seg[2] == "approve":
                table.append(("POST", self.approve, [seg[1], seg[3]]))
        elif n >= 2 and seg[0] == "project":
            if n == 6 and seg[4:] == ["pipeline", "run"] and all("/" not in s for s in seg[1:4]):
                table.append(("POST", self.trigger_run, seg[1:4]))
            slug, rest = _split_slug(seg[1:], raw[1:])
            if slug is not None:
                if rest == []:
                    table.append(("GET", self.get_project, [slug]))
                elif rest == ["pipeline"]:
                    table.append(("POST", self.trigger_legacy, [slug]))
                    table.append(("GET", self.project_pipelines, [slug]))
                elif len(rest) == 2 and rest[0] == "pipeline" and rest[1] != "run":
                    table.append(("GET", self.pipeline_by_number, [slug, rest[1]]))
                elif len(rest) == 2 and rest[0] == "job" and rest[1] not in ("artifacts", "tests"):
                    table.append(("GET", self.job_details, [slug, rest[1]]))
                elif len(rest) == 2 and rest[1] in ("artifacts", "tests"):
                    handler = self.artifacts if rest[1] == "artifacts" else self.tests
                    table.append(("GET", handler, [slug, rest[0]]))
        if not table:
            raise Refusal(404, "Not Found")
        for want, handler, args in table:
            if want == method:
                return handler, args
        raise Refusal(405, "Method Not Allowed")  # invented

    # --- access --------------------------------------------------------------------------------

    def _project_for(self, user: Optional[User], slug: str) -> str:
        """The canonical slug of a project ``user`` may use, or 404 ``Project not found``."""
        try:
            ProjectSlug.parse(slug)
        except BadInput:
            raise Refusal(404, PROJECT_NOT_FOUND) from None
        token = user.token if user else None
        if not self.state.can_access(token, slug):
            raise Refusal(404, PROJECT_NOT_FOUND)
        return self.state.get_project(slug).slug

    def _visible(self, user: Optional[User], project_slug: str, what: str) -> None:
        # Invented message text: CircleCI answers 404 here, its wording is undocumented.
        if user is None or not self.state.can_access(user.token, project_slug):
            raise Refusal(404, f"{what} not found")

    def _lookup(self, getter: Callable[[str], Any], ident: str, what: str) -> Any:
        # Invented: a non-UUID id is answered like an unknown one (404).
        if not is_uuid(ident):
            raise Refusal(404, f"{what} not found")
        try:
            return getter(ident.lower())
        except KeyError:
            raise Refusal(404, f"{what} not found") from None

    def _page(self, key: str, items: Union[list[Any], Fetch[Any]], call: Call, render: Callable[[Any], Any]) -> Answer:
        """One page of a list: ``items`` whole, or a ``fetch(offset, limit)`` that copies only the page."""
        fetch = items if callable(items) else (lambda offset, limit: (items[offset : offset + limit], len(items)))
        try:
            chunk, token = self.state.pages.page_of(key, fetch, call.query.get("page-token"), self.state.page_size)
        except StalePageToken:
            raise Refusal(404, "Not Found") from None
        return Answer(200, {"items": [render(i) for i in chunk], "next_page_token": token})

    # --- handlers ------------------------------------------------------------------------------

    def me(self, call: Call, user: Optional[User]) -> Answer:
        if user is None:
            raise Refusal(401, "You must log in first.")  # invented wording
        return Answer(200, user_json(user))

    def trigger_legacy(self, call: Call, user: Optional[User], slug: str) -> Answer:
        canonical = self._project_for(user, slug)
        if not ProjectSlug.parse(canonical).is_legacy:
            raise Refusal(400, body_rules.LEGACY_UNSUPPORTED)
        request = body_rules.parse_legacy_trigger(call.body)
        project = self.state.get_project(canonical)
        body_rules.check_branch(project, request.branch)
        pipeline = self.state.trigger_pipeline(
            canonical, branch=request.branch, tag=request.tag, parameters=request.parameters, actor=user
        )
        return Answer(201, pipeline_creation_json(pipeline))

    def trigger_run(self, call: Call, user: Optional[User], provider: str, org: str, repo: str) -> Answer:
        if provider not in RUN_PROVIDERS:
            raise Refusal(404, PROJECT_NOT_FOUND)
        canonical = self._project_for(user, f"{provider}/{org}/{repo}")
        request = body_rules.parse_run_trigger(call.body)
        project = self.state.get_project(canonical)
        if request.definition_id is not None and request.definition_id != project.definition_id:
            raise Refusal(404, "Pipeline definition not found")  # invented wording
        body_rules.check_branch(project, request.config_branch)
        body_rules.check_branch(project, request.branch)
        if request.branch is not None and request.branch in project.ci_skip_branches:
            # The spec's 200 pipelineNotTriggeredResponse; the message is its own example.
            return Answer(200, {"message": CI_SKIP_MESSAGE})
        pipeline = self.state.trigger_pipeline(
            canonical,
            branch=request.branch,
            tag=request.tag,
            parameters=request.parameters,
            actor=user,
            run_request=request.raw,
        )
        return Answer(201, pipeline_creation_json(pipeline))

    def get_project(self, call: Call, user: Optional[User], slug: str) -> Answer:
        canonical = self._project_for(user, slug)
        return Answer(200, project_json(self.state.get_project(canonical)))

    def pipeline_by_number(self, call: Call, user: Optional[User], slug: str, number: str) -> Answer:
        canonical = self._project_for(user, slug)
        # Invented wording; a number that is not a positive integer is unknown, like a missing one.
        wanted = self._number(number, "Pipeline not found")
        found = [p for p in self.state.pipelines_of(canonical) if p.number == wanted]
        if not found:
            raise Refusal(404, "Pipeline not found")
        return Answer(200, pipeline_json(found[0]))

    def job_details(self, call: Call, user: Optional[User], slug: str, number: str) -> Answer:
        canonical = self._project_for(user, slug)
        job = self.state.find_job_by_number(canonical, self._job_number(number))
        if job is None:
            raise Refusal(404, "Job not found")  # invented wording
        return Answer(200, job_details_json(job, self.state.get_workflow(job.workflow_id)))

    def project_pipelines(self, call: Call, user: Optional[User], slug: str) -> Answer:
        canonical = self._project_for(user, slug)
        branch = call.query.get("branch") or None

        def fetch(offset: int, limit: int) -> tuple[list[Any], int]:  # copies only the page asked for
            return self.state.pipelines_page(canonical, offset, limit, branch=branch)

        return self._page(f"pipelines:{canonical}:{branch}", fetch, call, pipeline_json)

    def get_pipeline(self, call: Call, user: Optional[User], pipeline_id: str) -> Answer:
        pipeline = self._lookup(self.state.get_pipeline, pipeline_id, "Pipeline")
        self._visible(user, pipeline.project_slug, "Pipeline")
        return Answer(200, pipeline_json(pipeline))

    def pipeline_workflows(self, call: Call, user: Optional[User], pipeline_id: str) -> Answer:
        pipeline = self._lookup(self.state.get_pipeline, pipeline_id, "Pipeline")
        self._visible(user, pipeline.project_slug, "Pipeline")
        workflows = self.state.workflows_of(pipeline.id)
        return self._page(f"workflows:{pipeline.id}", workflows, call, workflow_json)

    def _workflow(self, user: Optional[User], workflow_id: str) -> Any:
        workflow = self._lookup(self.state.get_workflow, workflow_id, "Workflow")
        self._visible(user, workflow.project_slug, "Workflow")
        return workflow

    def get_workflow(self, call: Call, user: Optional[User], workflow_id: str) -> Answer:
        return Answer(200, workflow_json(self._workflow(user, workflow_id)))

    def workflow_jobs(self, call: Call, user: Optional[User], workflow_id: str) -> Answer:
        workflow = self._workflow(user, workflow_id)

        def fetch(offset: int, limit: int) -> tuple[list[Any], int]:  # copies only the page asked for
            return self.state.jobs_page(workflow.id, offset, limit)

        return self._page(f"jobs:{workflow.id}", fetch, call, job_json)

    def approve(self, call: Call, user: Optional[User], workflow_id: str, request_id: str) -> Answer:
        workflow = self._workflow(user, workflow_id)
        if not is_uuid(request_id):
            raise Refusal(404, "Approval request not found")  # invented wording
        try:
            self.state.approve_job(workflow.id, request_id.lower(), approver=user.id if user else None)
        except ApprovalRefused as refused:
            raise Refusal(refused.status, refused.message) from None
        return Answer(202, {"message": ACCEPTED})

    def cancel(self, call: Call, user: Optional[User], workflow_id: str) -> Answer:
        workflow = self._workflow(user, workflow_id)
        # Invented: canceling a finished workflow is accepted and changes nothing.
        self.state.cancel_workflow(workflow.id, canceled_by=user.id if user else None)
        return Answer(202, {"message": ACCEPTED})

    def continue_pipeline(self, call: Call, user: Optional[User]) -> Answer:
        # The continuation key is the credential: the setup job that holds it needs no token (CircleCI's
        # continuation orb sends none). A token that is sent must still be valid (checked in ``handle``).
        request = body_rules.parse_continue(call.body)
        try:
            self.state.continue_pipeline(request.key, request.configuration, request.parameters)
        except ContinuationRefused as refused:
            raise Refusal(refused.status, refused.message) from None
        return Answer(200, {"message": "Success."})

    def rerun(self, call: Call, user: Optional[User], workflow_id: str) -> Answer:
        workflow = self._workflow(user, workflow_id)
        request = body_rules.parse_rerun(call.body)
        body_rules.check_rerun(workflow, self.state.jobs_of(workflow.id), request)
        new = self.state.rerun_workflow(
            workflow.id, from_failed=request.from_failed, jobs=request.jobs, sparse_tree=request.sparse_tree
        )
        return Answer(202, {"workflow_id": new.id})

    def _job_number(self, text: str) -> int:
        return self._number(text, "Job not found")  # invented: a non-numeric job number is unknown

    @staticmethod
    def _number(text: str, unknown: str) -> int:
        # ASCII only: str.isdigit() also accepts "²" and "١٢", which int() refuses or misreads.
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise Refusal(404, unknown)
        return int(text)

    def artifacts(self, call: Call, user: Optional[User], slug: str, number: str) -> Answer:
        canonical = self._project_for(user, slug)
        items = self.state.artifacts_of(canonical, self._job_number(number))
        if items is None:
            raise Refusal(404, "Job not found")
        return self._page(f"artifacts:{canonical}:{number}", items, call, artifact_json)

    def tests(self, call: Call, user: Optional[User], slug: str, number: str) -> Answer:
        canonical = self._project_for(user, slug)
        items = self.state.tests_of(canonical, self._job_number(number))
        if items is None:
            raise Refusal(404, "Job not found")
        return self._page(f"tests:{canonical}:{number}", items, call, test_result_json)


def _split_slug(segments: list[str], raw: list[str]) -> tuple[Optional[str], list[str]]:
    """Take a project slug off the front: three segments, or one with escaped slashes (``gh%2Fo%2Fr``)."""
    if segments and segments[0].count("/") == 2 and "%" in raw[0]:
        return segments[0], segments[1:]
    if len(segments) >= 3 and all("/" not in s for s in segments[:3]):
        return "/".join(segments[:3]), segments[3:]
    return None, []


def parse_path(path: str) -> Optional[tuple[list[str], list[str]]]:
    """Split a request path under ``/api/v2`` into decoded and raw segments (``None`` if outside)."""
    if not path.startswith(API_PREFIX + "/"):
        return None
    raw = path[len(API_PREFIX) + 1 :].split("/")
    if raw and raw[-1] == "":
        raw = raw[:-1]
    return [unquote(s) for s in raw], raw
