"""What a rehearsal is given for each project; below the engine, the planner and the job runner that use it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class ProjectSpec:
    """A project to rehearse: its config, the directory ``checkout`` copies, and its branches."""

    config: Path
    directory: Optional[Path] = None
    branches: tuple[str, ...] = ("main",)
    #: The project setting "Auto-cancel redundant workflows" (see docs/simulator.md).
    auto_cancel: bool = False

    @property
    def source(self) -> Path:
        if self.directory is not None:
            return self.directory
        parent = self.config.resolve().parent
        return parent.parent if parent.name == ".circleci" else parent
