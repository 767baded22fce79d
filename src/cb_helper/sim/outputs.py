"""What jobs leave behind: artifacts and test results, keyed by project and job number."""

from __future__ import annotations

import copy
from typing import Optional

from cb_helper.sim.model import Artifact, TestResult
from cb_helper.sim.store import Store, T
from cb_helper.vocabulary import slug_key


class JobOutputs(Store):
    """The artifacts and tests half of :class:`~cb_helper.sim.state.SimState`."""

    def add_artifact(
        self, project_slug: str, job_number: int, path: str, *, url: Optional[str] = None, node_index: int = 0
    ) -> Artifact:
        with self.lock:
            project = self._project(project_slug)
            link = url or (
                f"https://output.circle-artifacts.com/output/job/{project.slug}/{job_number}"
                f"/artifacts/{node_index}/{path}"
            )
            artifact = Artifact(path=path, url=link, node_index=node_index)
            self._artifacts.setdefault((slug_key(project.slug), int(job_number)), []).append(artifact)
            return copy.copy(artifact)

    def add_test_result(
        self,
        project_slug: str,
        job_number: int,
        *,
        name: str,
        classname: str,
        result: str,
        file: str = "",
        message: Optional[str] = None,  # None is stored as "", what CircleCI sends
        run_time: float = 0.0,
        source: str = "",
    ) -> TestResult:
        with self.lock:
            project = self._project(project_slug)
            entry = TestResult(name, classname, result, file, message or "", float(run_time), source)
            self._tests.setdefault((slug_key(project.slug), int(job_number)), []).append(entry)
            return copy.copy(entry)

    def artifacts_of(self, project_slug: str, job_number: int) -> Optional[list[Artifact]]:
        """The job's artifacts; ``None`` when the project has no such job number."""
        return self._job_items(self._artifacts, project_slug, job_number)

    def tests_of(self, project_slug: str, job_number: int) -> Optional[list[TestResult]]:
        """The job's test results; ``None`` when the project has no such job number."""
        return self._job_items(self._tests, project_slug, job_number)

    def _job_items(self, table: dict[tuple[str, int], list[T]], slug: str, number: int) -> Optional[list[T]]:
        with self.lock:
            key = (slug_key(slug), number)
            if key in table:
                return copy.deepcopy(table[key])
            if self.find_job_by_number(slug, number) is not None:
                return []
            return None
