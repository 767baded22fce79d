"""The standalone simulator as a playground: ``cb-helper sim serve --project SLUG[=CONFIG]``.

Every project's pipelines run when they are triggered through the API: a project given with a config runs
that config with the local runner (so A's config can trigger B's, and B can circle back), and a project
given without one runs :data:`DEFAULT_CONFIG`, a build, an approval hold and a deploy, so that ``cb-helper``
driven by hand from another terminal has workflows, jobs and a hold to act on.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Callable, Optional

from cb_helper.rehearse.engine import Rehearsal
from cb_helper.rehearse.project import OrbSource
from cb_helper.rehearse.spec import ProjectSpec
from cb_helper.rehearse.timeline import Event
from cb_helper.sim.server import SimServer

#: What a project given without a config runs on every trigger (documented in docs/simulator.md).
DEFAULT_CONFIG = """\
version: 2.1
# The simulator's default pipeline for a project served without a config.
parameters:
  triggering-pipeline-id: {type: string, default: ""}
  triggering-workflow-id: {type: string, default: ""}
jobs:
  build:
    docker: [{image: cimg/base:current}]
    steps:
      - run: {name: Build, command: echo "built << pipeline.project.git_url >> at << pipeline.git.revision >>"}
  deploy:
    docker: [{image: cimg/base:current}]
    steps:
      - run: {name: Deploy, command: echo "deployed pipeline << pipeline.number >>"}
workflows:
  default:
    jobs:
      - build
      - hold:
          type: approval
          requires: [build]
      - deploy:
          requires: [hold]
"""


class Playground:
    """Runs the pipelines of ``projects`` (slug to config, ``None`` for the default) on ``server``."""

    def __init__(
        self,
        server: SimServer,
        projects: Mapping[str, Optional[Path]],
        *,
        orbs: Optional[Mapping[str, OrbSource]] = None,
        contexts: Optional[Mapping[str, Mapping[str, str]]] = None,
        on_event: Optional[Callable[[Event], None]] = None,
    ) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="cb-playground-"))
        default = self._scratch / "default" / ".circleci" / "config.yml"
        default.parent.mkdir(parents=True)
        default.write_text(DEFAULT_CONFIG, encoding="utf-8")
        specs = {slug: ProjectSpec(config=path if path is not None else default) for slug, path in projects.items()}
        try:
            self.rehearsal = Rehearsal(specs, orbs=orbs, contexts=contexts, server=server, on_event=on_event)
        except BaseException:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise

    def serve(self, stop: threading.Event) -> None:
        """Launch triggered pipelines and drive their jobs until ``stop`` is set."""
        self.rehearsal.run_until(stop)

    def close(self) -> None:
        self.rehearsal.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> Playground:
        return self

    def __exit__(
        self, kind: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()


__all__ = ["DEFAULT_CONFIG", "Playground"]
