"""The environment a job's steps see: host basics, CircleCI's built-in variables, contexts, the job's own."""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Optional

#: Host variables passed through to steps; everything else of the host stays out, as in a fresh container.
HOST_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME", "SYSTEMROOT")
#: The file in the job's home that ``$BASH_ENV`` names: what one step appends there, later steps get.
BASH_ENV_FILE = ".bash_env"


def helper_path(path: Optional[str] = None) -> str:
    """``PATH`` with the directory holding this interpreter's ``cb-helper`` first."""
    directories: list[str] = []
    for candidate in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        if candidate and (Path(candidate) / "cb-helper").exists() and candidate not in directories:
            directories.append(candidate)
    if not directories:
        directories.append(str(Path(sys.executable).parent))
    rest = path if path is not None else os.environ.get("PATH", os.defpath)
    return os.pathsep.join([*directories, rest])


def build_environment(
    *,
    home: Path,
    builtins: Mapping[str, str],
    project_env: Mapping[str, str],
    contexts: Iterable[Mapping[str, str]],
    rehearsal: Mapping[str, str],
    job: Iterable[tuple[str, str]],
) -> dict[str, str]:
    """Lowest precedence first: project variables, contexts, CircleCI's built-ins (and the rehearsal's
    connection variables), then the job's ``environment`` (a step's own ``environment`` goes on top)."""
    env = {name: os.environ[name] for name in HOST_VARIABLES if name in os.environ}
    env["PATH"] = helper_path(env.get("PATH"))
    env["HOME"] = str(home)
    env["BASH_ENV"] = str(home / BASH_ENV_FILE)  # bash sources it in every step, as on CircleCI
    env.update(project_env)
    for context in contexts:
        env.update(context)
    env.update(builtins)
    env.update(rehearsal)
    env.update(dict(job))
    return env


def circleci_variables(
    *,
    project_slug: str,
    branch: Optional[str],
    tag: Optional[str],
    revision: str,
    pipeline_id: str,
    workflow_id: str,
    job_id: str,
    job_number: Optional[int],
    job_name: str,
    working_directory: str,
    host: str,
) -> dict[str, str]:
    """The variables CircleCI sets in every job."""
    provider, org, repo = [*project_slug.split("/"), "", "", ""][:3]
    site = "bitbucket.org" if provider in ("bb", "bitbucket") else "github.com"
    number = str(job_number) if job_number is not None else ""
    variables = {
        "CI": "true",
        "CIRCLECI": "true",
        "CIRCLE_SHA1": revision,
        "CIRCLE_BUILD_NUM": number,
        "CIRCLE_BUILD_URL": f"{host}/{project_slug}/{number}",
        "CIRCLE_JOB": job_name,
        "CIRCLE_NODE_INDEX": "0",
        "CIRCLE_NODE_TOTAL": "1",
        "CIRCLE_PIPELINE_ID": pipeline_id,
        "CIRCLE_WORKFLOW_ID": workflow_id,
        "CIRCLE_WORKFLOW_JOB_ID": job_id,
        "CIRCLE_WORKFLOW_WORKSPACE_ID": workflow_id,
        "CIRCLE_PROJECT_USERNAME": org,
        "CIRCLE_PROJECT_REPONAME": repo,
        "CIRCLE_REPOSITORY_URL": f"git@{site}:{org}/{repo}.git",
        "CIRCLE_USERNAME": "rehearsal",
        "CIRCLE_WORKING_DIRECTORY": working_directory,
    }
    if tag is not None:
        variables["CIRCLE_TAG"] = tag
    else:
        variables["CIRCLE_BRANCH"] = branch or ""
    return variables
