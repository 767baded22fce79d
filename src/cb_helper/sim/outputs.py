"""What jobs leave behind: artifacts and test results, keyed by project and job number."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional, Union
from urllib.parse import quote

from cb_helper.api.vocabulary import slug_key
from cb_helper.sim.model import Artifact, StoredArtifact, TestResult
from cb_helper.sim.store import Store, T

#: Where CircleCI serves artifacts from; the URLs a running simulator lists point at itself instead.
ARTIFACT_HOST = "https://output.circle-artifacts.com"
#: The path under which artifacts are listed and (by the simulator) served.
DOWNLOAD_PREFIX = "/output/job/"


class JobOutputs(Store):
    """The artifacts and tests half of :class:`~cb_helper.sim.state.SimState`."""

    def add_artifact(
        self,
        project_slug: str,
        job_number: int,
        path: str,
        *,
        url: Optional[str] = None,
        node_index: int = 0,
        content: Union[bytes, Path] = b"",
    ) -> Artifact:
        """Register an artifact of a job; ``content`` is its bytes, or a file read when it is downloaded.

        Without ``url`` the artifact is served by the simulator (see :meth:`artifact_content`).
        """
        if not isinstance(content, (bytes, Path)):
            raise TypeError(f"content must be bytes or a Path, not {type(content).__name__}")
        with self.lock:
            project = self._project(project_slug)
            stored = StoredArtifact(path=path, node_index=int(node_index), link=url, content=content)
            self._artifacts.setdefault((slug_key(project.slug), int(job_number)), []).append(stored)
            return self._listed(project.slug, int(job_number), stored)

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
        """The job's artifacts, with the URLs the list endpoint gives; ``None`` when there is no such job."""
        with self.lock:
            stored = self._job_items(self._artifacts, project_slug, job_number)
            if stored is None:
                return None
            slug = self._project(project_slug).slug
            return [self._listed(slug, job_number, item) for item in stored]

    def artifact_content(self, project_slug: str, job_number: int, node_index: int, path: str) -> Optional[bytes]:
        """The bytes of the job's artifact (the last one stored at ``path``), or ``None`` when unknown or unreadable."""
        with self.lock:
            found = [
                item
                for item in self._artifacts.get((slug_key(project_slug), job_number), [])
                if item.node_index == node_index and item.path == path
            ]
            content = found[-1].content if found else None
        if isinstance(content, Path):
            try:
                return content.read_bytes()
            except OSError:
                return None
        return content

    def _listed(self, slug: str, job_number: int, item: StoredArtifact) -> Artifact:
        if item.link is not None:
            return Artifact(path=item.path, url=item.link, node_index=item.node_index)
        origin = self.artifact_origin or ARTIFACT_HOST
        where = quote(f"{slug}/{job_number}/artifacts/{item.node_index}/{item.path}", safe="/")
        return Artifact(path=item.path, url=f"{origin}{DOWNLOAD_PREFIX}{where}", node_index=item.node_index)

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
