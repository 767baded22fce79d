"""Compiling configs into workflows of concrete steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from cb_helper.rehearse.errors import ConfigError
from cb_helper.rehearse.plan import CheckoutStep, PersistStep, RunStep
from tests.rehearse.helpers import PIPELINE_ID, compile_config

HEADER = """\
version: 2.1
executors:
  base:
    parameters:
      tag: {type: string, default: current}
    docker:
      - image: cimg/base:<< parameters.tag >>
        environment: {FROM_IMAGE: "1"}
    working_directory: ~/work
"""


def _runs(plan: object, workflow: int = 0, job: int = 0) -> list[RunStep]:
    steps = plan.workflows[workflow].jobs[job].job.steps  # type: ignore[attr-defined]
    return [s for s in steps if isinstance(s, RunStep)]


def test_commands_executors_and_pipeline_values(tmp_path: Path) -> None:
    plan = compile_config(
        tmp_path,
        HEADER
        + """
parameters:
  target: {type: enum, enum: [staging, prod], default: staging}
commands:
  greet:
    parameters:
      who: {type: string}
      shout: {type: boolean, default: false}
    steps:
      - run:
          name: greet << parameters.who >>
          command: echo hi << parameters.who >><<# parameters.shout >>!<</ parameters.shout >>
          environment: {SHOUT: << parameters.shout >>}
jobs:
  build:
    executor: {name: base, tag: "2024.01"}
    environment: {STAGE: << pipeline.parameters.target >>}
    steps:
      - checkout
      - greet: {who: << pipeline.git.branch >>, shout: true}
      - run: echo << pipeline.id >> n=<< pipeline.number >>
workflows:
  main:
    jobs: [build]
""",
        parameters={"target": "prod"},
    )
    [workflow] = plan.workflows
    job = workflow.jobs[0].job
    assert job is not None
    assert job.image == "cimg/base:2024.01"
    assert job.working_directory == "~/work"
    assert dict(job.environment) == {"FROM_IMAGE": "1", "STAGE": "prod"}
    assert isinstance(job.steps[0], CheckoutStep)
    greet, pipeline_step = _runs(plan)
    assert greet.name == "greet main"
    assert greet.command == "echo hi main!"
    assert greet.environment == (("SHOUT", "1"),)
    assert pipeline_step.command == f"echo {PIPELINE_ID} n=3"


def test_injected_orb_is_scoped_and_unescaped(tmp_path: Path) -> None:
    orb = {
        "version": 2.1,
        "commands": {
            "hello": {
                "parameters": {"name": {"type": "string"}},
                "steps": [
                    {
                        "run": {
                            "name": "hello",
                            "command": "cat \\<<EOF\nhi $NAME\nEOF",
                            "environment": {"NAME": "<< parameters.name >>"},
                        }
                    }
                ],
            },
            "wrap": {
                "parameters": {"inner": {"type": "steps", "default": []}},
                "steps": [{"hello": {"name": "orb"}}, {"steps": "<< parameters.inner >>"}],
            },
        },
        "executors": {"default": {"docker": [{"image": "cimg/python:3.12"}]}},
        "jobs": {"greet": {"executor": "default", "steps": [{"wrap": {"inner": [{"hello": {"name": "nested"}}]}}]}},
    }
    plan = compile_config(
        tmp_path,
        """
version: 2.1
orbs:
  tools: acme/tools@1.2.3
commands:
  hello:
    steps: [{run: {name: project hello, command: echo project}}]
jobs:
  local:
    executor: tools/default
    steps:
      - tools/wrap:
          inner: [hello]
workflows:
  main:
    jobs: [tools/greet, local]
""",
        orbs={"tools": orb},
    )
    orb_job, local_job = plan.workflows[0].jobs
    assert orb_job.name == "tools/greet"
    assert [s.name for s in _runs(plan, job=0)] == ["hello", "hello"]
    assert _runs(plan, job=0)[0].command == "cat <<EOF\nhi $NAME\nEOF"
    # steps given by the project resolve in the project's namespace, the orb's own in the orb's
    assert [s.name for s in _runs(plan, job=1)] == ["hello", "project hello"]
    assert local_job.job is not None
    assert local_job.job.image == "cimg/python:3.12"


def test_orb_is_found_by_registry_name_too(tmp_path: Path) -> None:
    orb = {"version": 2.1, "commands": {"noop": {"steps": [{"run": {"name": "n", "command": "true"}}]}}}
    plan = compile_config(
        tmp_path,
        """
version: 2.1
orbs: {cb: circleback/circleback@0.1.0}
jobs:
  j: {docker: [{image: x}], steps: [cb/noop]}
workflows: {w: {jobs: [j]}}
""",
        orbs={"circleback/circleback": orb},
    )
    assert _runs(plan)[0].command == "true"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("orbs: {node: circleci/node@5.1}\n", "orb 'node' (circleci/node@5.1) comes from the orb registry"),
        ("jobs: {j: {docker: [{image: x}], steps: [frobnicate]}}\n", "step 'frobnicate' is neither"),
        (
            "jobs: {j: {docker: [{image: x}], steps: [setup_remote_docker]}}\n",
            "step 'setup_remote_docker' is not supported",
        ),
        (
            "jobs: {j: {docker: [{image: x}], steps: [{run: {command: ls, max_auto_reruns: 2}}]}}\n",
            "unsupported key(s) max_auto_reruns",
        ),
        ("jobs: {j: {docker: [{image: x}, {image: postgres}], steps: [checkout]}}\n", "secondary container"),
        ("jobs: {j: {steps: [checkout]}}\n", "needs exactly one of docker, machine, macos or executor"),
        ("jobs: {j: {docker: [{image: x}], parallelism: 4, steps: [checkout]}}\n", "parallelism 4"),
        (
            "jobs: {j: {docker: [{image: x}], resource_klass: small, steps: [checkout]}}\n",
            "unsupported key(s) resource_klass",
        ),
        ("jobs: {j: {docker: [{image: x}], steps: [{run: {command: ls, when: sometimes}}]}}\n", "when: 'sometimes'"),
        (
            "jobs: {j: {machine: {image: ubuntu-2204:current, docker_layer_caching: true}, steps: [checkout]}}\n",
            "machine has unsupported key(s) docker_layer_caching",
        ),
        (
            "jobs: {j: {docker: [{image: x}], steps: [{run: echo << parameters.nope >>}]}}\n",
            "without declared parameters: nope",
        ),
    ],
)
def test_unsupported_or_broken_configs_are_named(tmp_path: Path, config: str, message: str) -> None:
    text = "version: 2.1\n" + config
    if "workflows" not in config:
        text += "workflows: {w: {jobs: [j]}}\n" if "jobs:" in config else "workflows: {}\n"
    with pytest.raises(ConfigError) as caught:
        compile_config(tmp_path, text)
    assert message in str(caught.value)


def test_when_unless_steps_pre_and_post_steps(tmp_path: Path) -> None:
    plan = compile_config(
        tmp_path,
        """
version: 2.1
jobs:
  j:
    parameters:
      fast: {type: boolean, default: false}
    docker: [{image: x}]
    steps:
      - when:
          condition: << parameters.fast >>
          steps: [{run: {name: fast, command: "true"}}]
      - unless:
          condition: {equal: [main, << pipeline.git.branch >>]}
          steps: [{run: {name: not-main, command: "true"}}]
      - when:
          condition: {and: [<< parameters.fast >>, {equal: [main, << pipeline.git.branch >>]}]}
          steps: [{run: {name: fast-main, command: "true"}}]
      - run: {name: body, command: "true"}
workflows:
  w:
    jobs:
      - j:
          fast: true
          pre-steps: [{run: {name: pre, command: "true"}}]
          post-steps: [{run: {name: post, command: "true", when: always}}]
""",
    )
    runs = _runs(plan)
    assert [s.name for s in runs] == ["pre", "fast", "fast-main", "body", "post"]
    assert runs[-1].when == "always"


def test_workflow_shape_requires_approval_filters(tmp_path: Path) -> None:
    config = """
version: 2.1
jobs:
  a: {docker: [{image: x}], steps: [{run: "true"}]}
workflows:
  w:
    jobs:
      - a
      - a: {name: b, requires: [a], filters: {branches: {only: [main, /release-.*/]}}}
      - hold: {type: approval, requires: [a]}
      - a: {name: c, requires: [{b: [success, failed]}, {hold: terminal}]}
      - a: {name: d, requires: [a], filters: {branches: {ignore: main}}}
      - a: {name: e, requires: [d]}
"""
    plan = compile_config(tmp_path, config)
    [workflow] = plan.workflows
    assert [j.name for j in workflow.jobs] == ["a", "b", "hold", "c"]
    assert workflow.job("hold").approval
    assert dict(workflow.job("c").requires) == {
        "b": frozenset({"success", "failed"}),
        "hold": frozenset({"success", "failed", "canceled", "not_run"}),
    }
    on_release = compile_config(tmp_path, config, branch="release-1")
    assert [j.name for j in on_release.workflows[0].jobs] == ["a", "b", "hold", "c", "d", "e"]
    on_dev = compile_config(tmp_path, config, branch="dev")
    # b is filtered out, so c (which requires it) is dropped too; d and e run
    assert [j.name for j in on_dev.workflows[0].jobs] == ["a", "hold", "d", "e"]
    on_tag = compile_config(tmp_path, config, branch=None, tag="v1.0.0")
    assert on_tag.workflows == ()
    assert on_tag.skipped == ("w",)


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ("[a, {a: {name: b, requires: [zz]}}]", "requires 'zz', which is not a job of this workflow"),
        ("[{a: {name: x, requires: [y]}}, {a: {name: y, requires: [x]}}]", "cycle"),
        ("[a, a]", "two jobs named 'a'"),
        ("[{a: {matrix: {parameters: {v: [1, 2]}}}}]", "matrix jobs are not supported"),
        ("[{a: {requires: [{b: done}]}}, {a: {name: b}}]", "requires status 'done'"),
        ("[{a: {context: [secrets]}}]", "context 'secrets' is not defined"),
        ("[nope]", "job 'nope' is not defined"),
        ("[a, {hold: {type: approval, requires: [a], timeout: 5}}]", "approval job has unsupported key(s) timeout"),
        (
            "[a, {hold: {type: approval, requires: [a], post-steps: [checkout]}}]",
            "approval job has unsupported key(s) post-steps",
        ),
    ],
)
def test_bad_workflows(tmp_path: Path, jobs: str, message: str) -> None:
    config = f"""
version: 2.1
jobs:
  a: {{docker: [{{image: x}}], steps: [{{run: "true"}}]}}
workflows:
  w:
    jobs: {jobs}
"""
    with pytest.raises(ConfigError) as caught:
        compile_config(tmp_path, config, contexts={})
    assert message in str(caught.value)
    assert str(caught.value).startswith("workflow 'w'")


def test_workflow_conditions_and_scheduled_workflows(tmp_path: Path) -> None:
    plan = compile_config(
        tmp_path,
        """
version: 2.1
parameters:
  run_deploy: {type: boolean, default: false}
jobs:
  a: {docker: [{image: x}], steps: [{run: "true"}]}
workflows:
  test: {jobs: [a]}
  deploy:
    when: << pipeline.parameters.run_deploy >>
    jobs: [a]
  nightly:
    triggers: [{schedule: {cron: "0 0 * * *", filters: {branches: {only: main}}}}]
    jobs: [a]
""",
    )
    assert [w.name for w in plan.workflows] == ["test"]
    assert set(plan.skipped) == {"deploy", "nightly"}


def test_persist_and_background_steps_parse(tmp_path: Path) -> None:
    plan = compile_config(
        tmp_path,
        """
version: 2.1
jobs:
  a:
    docker: [{image: x}]
    steps:
      - persist_to_workspace: {root: ., paths: [out/*.txt]}
      - run: {command: sleep 1, background: true, no_output_timeout: 2m}
workflows: {w: {jobs: [a]}}
""",
    )
    job = plan.workflows[0].jobs[0].job
    assert job is not None
    assert job.steps[0] == PersistStep(root=".", paths=("out/*.txt",))
    run = job.steps[1]
    assert isinstance(run, RunStep)
    assert run.background
    assert run.no_output_timeout == 120
