"""Links to CircleCI's web pages: app.circleci.com for the cloud, the host itself for a server install."""

from __future__ import annotations

from cb_helper.pattern.status import job_url, oldest_first, pipeline_url, workflow_url

WF = "5034460f-c7c4-4c43-9457-de07e2029e7b"


def test_cloud_links_point_at_the_web_app() -> None:
    assert (
        pipeline_url("https://circleci.com", "gh/acme/api", 7) == "https://app.circleci.com/pipelines/github/acme/api/7"
    )
    assert (
        workflow_url("https://circleci.com/", "bb/acme/api", 7, WF)
        == f"https://app.circleci.com/pipelines/bitbucket/acme/api/7/workflows/{WF}"
    )


def test_server_links_stay_on_the_server() -> None:
    assert (
        pipeline_url("https://ci.example.com", "circleci/o1/p1", 3)
        == "https://ci.example.com/pipelines/circleci/o1/p1/3"
    )


def test_without_a_number_the_workflow_page_is_used() -> None:
    assert workflow_url("https://circleci.com", None, None, WF) == f"https://app.circleci.com/workflow-run/{WF}"
    assert pipeline_url("https://circleci.com", "gh/a/b", None) is None


def test_the_web_app_host_itself_is_the_cloud_too() -> None:
    assert pipeline_url("https://app.circleci.com/", "gh/a/b", 1) == "https://app.circleci.com/pipelines/github/a/b/1"


def test_workflows_are_ranked_by_creation_whatever_order_a_page_lists_them_in() -> None:
    """The API lists newest first; a rerun's rank must not depend on that alone. On a tie, the API's order decides."""
    listed = [
        {"id": "b", "created_at": "2026-01-01T00:00:02Z"},
        {"id": "c", "created_at": "2026-01-01T00:00:03Z"},
        {"id": "a2", "created_at": "2026-01-01T00:00:01Z"},
        {"id": "a1", "created_at": "2026-01-01T00:00:01Z"},
        {"id": "none"},
    ]
    assert [w["id"] for w in oldest_first(listed)] == ["none", "a1", "a2", "b", "c"]


def test_a_job_link_needs_a_job_number_that_is_a_whole_number() -> None:
    wf = "0a1b2c3d-0000-4000-8000-000000000001"
    base = "https://app.circleci.com/pipelines/github/acme/b/7/workflows/" + wf
    assert job_url("https://circleci.com", "gh/acme/b", 7, wf, 12) == base + "/jobs/12"
    for number in (None, "12", True, 12.0):
        assert job_url("https://circleci.com", "gh/acme/b", 7, wf, number) is None
