"""Build hook: put the packed orb of this very version into the wheel (``cb_helper/orb/circleback.yml``).

``cb-helper rehearse --orb circleback`` finds it there, so a pip install can rehearse without the repository.
Hatchling loads this file by path; the orb tooling is imported from the source tree being built (the sdist
carries it). Editable installs get no copy: a checkout packs with ``python -m tools.orbkit pack``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: Where the packed orb lands inside the wheel; ``cb_helper.commands.rehearse`` reads it from there.
WHEEL_PATH = "cb_helper/orb/circleback.yml"


class PackedOrbHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        sys.path.insert(0, str(root))
        try:
            from tools.orbkit.bundle import build_orb
        finally:
            sys.path.remove(str(root))
        self._scratch = Path(tempfile.mkdtemp(prefix="cb-orb-"))
        packed = self._scratch / "circleback.yml"
        packed.write_text(build_orb(root / "orb" / "src", root / "src" / "cb_helper"), encoding="utf-8")
        build_data["force_include"][str(packed)] = WHEEL_PATH

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
