"""The orb-tools ``review`` rules RC001-RC012, reimplemented over the orb source directory.

RC006 and RC007 fetch URLs, so they run only when asked (``network=True``); RC011 runs only with an orb
alias and a release tag, as in orb-tools. RC004 is checked as orb-tools intends it (a bug there makes it a
no-op): example file names must not contain "example".
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tools.orbkit.goyaml import load_file

COMPONENT_DIRS = ("jobs", "commands", "executors", "examples")
RELEASE_TAG = re.compile(r"v(\d+)\.\d+\.\d+\Z")
INCLUDE_MARK = re.compile(r"<<include\(*")

TITLES = {
    "RC001": "Include source_url in @orb.yml",
    "RC002": "All components (jobs, commands, executors, examples) must have descriptions",
    "RC003": "All production-ready orbs should contain at least one usage example.",
    "RC004": "Usage example names should be descriptive.",
    "RC005": "Write a detailed orb description.",
    "RC006": "Source URL should be valid.",
    "RC007": "Home URL should be valid.",
    "RC008": "All Run steps should contain a name.",
    "RC009": "Complex Run step's commands should be imported.",
    "RC010": "All components (jobs, commands, executors, examples) should be snake_cased.",
    "RC011": "Ensure usage examples showcase current major version of the orb.",
    "RC012": "Incorrect usage of environment variables set as default parameter detected.",
}


@dataclass
class RuleResult:
    code: str
    problems: list[str] = field(default_factory=list)
    skipped: str = ""

    @property
    def title(self) -> str:
        return TITLES[self.code]

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class Review:
    """Where the orb source is and how the optional rules run."""

    source_dir: Path
    max_command_length: int = 64
    orb_alias: str = ""
    tag: str = ""
    network: bool = False

    def run(self) -> list[RuleResult]:
        """Run every rule, in order."""
        return [getattr(self, f"rc{code[2:]}")() for code in TITLES]

    # helpers
    def _orb(self) -> dict[str, Any]:
        data = load_file(self.source_dir / "@orb.yml")
        return data if isinstance(data, dict) else {}

    def _files(self, *dirs: str) -> list[Path]:
        found: list[Path] = []
        for directory in dirs:
            folder = self.source_dir / directory
            if folder.is_dir():
                found.extend(sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml")))
        return found

    def _load(self, path: Path) -> Any:
        return load_file(path)

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.source_dir))

    # rules
    def rc001(self) -> RuleResult:
        result = RuleResult("RC001")
        if not (self._orb().get("display") or {}).get("source_url"):
            result.problems.append("@orb.yml has no display.source_url")
        return result

    def rc002(self) -> RuleResult:
        result = RuleResult("RC002")
        for path in self._files(*COMPONENT_DIRS):
            data = self._load(path)
            if not isinstance(data, dict) or not data.get("description"):
                result.problems.append(f"{self._rel(path)} has no description")
        return result

    def rc003(self) -> RuleResult:
        result = RuleResult("RC003")
        if not self._files("examples"):
            result.problems.append("examples/ holds no usage example")
        return result

    def rc004(self) -> RuleResult:
        result = RuleResult("RC004")
        for path in self._files("examples"):
            if "example" in path.stem.lower():
                result.problems.append(f"{self._rel(path)}: name examples by what they do, not 'example'")
        return result

    def rc005(self) -> RuleResult:
        result = RuleResult("RC005")
        description = str(self._orb().get("description") or "").rstrip("\n")
        if len(description) < 64:
            result.problems.append(f"the orb description is {len(description)} characters long (expected 64 or more)")
        return result

    def _url_rule(self, code: str, key: str, required: bool) -> RuleResult:
        result = RuleResult(code)
        url = (self._orb().get("display") or {}).get(key)
        if not self.network:
            result.skipped = "needs network (run with --network)"
        elif url:
            problem = _fetch_problem(str(url))
            if problem:
                result.problems.append(f"display.{key} {url}: {problem}")
        elif required:
            result.problems.append(f"@orb.yml has no display.{key}")
        return result

    def rc006(self) -> RuleResult:
        return self._url_rule("RC006", "source_url", required=True)

    def rc007(self) -> RuleResult:
        return self._url_rule("RC007", "home_url", required=False)

    def _runs(self) -> Iterator[tuple[str, Any]]:
        for path in self._files("jobs", "commands"):
            for run in _find_key(self._load(path), "run"):
                yield self._rel(path), run

    def rc008(self) -> RuleResult:
        result = RuleResult("RC008")
        for where, run in self._runs():
            if not isinstance(run, dict) or not run.get("name"):
                result.problems.append(f"{where}: a run step has no name: {str(run)[:60]!r}")
        return result

    def rc009(self) -> RuleResult:
        result = RuleResult("RC009")
        for where, run in self._runs():
            if not isinstance(run, dict):
                result.problems.append(f"{where}: a run step is a bare string: {str(run)[:60]!r}")
                continue
            command = str(run.get("command") or "")
            if len(command) > self.max_command_length and not INCLUDE_MARK.search(command):
                result.problems.append(
                    f"{where}: run step {run.get('name')!r} has a {len(command)}-character command "
                    f"(over {self.max_command_length}: move it to scripts/ and <<include()>> it)"
                )
        return result

    def rc010(self) -> RuleResult:
        result = RuleResult("RC010")
        for path in self._files("jobs", "commands", "executors"):
            if "-" in path.stem:
                result.problems.append(f"{self._rel(path)}: the name is not snake_case")
            data = self._load(path)
            parameters = data.get("parameters") if isinstance(data, dict) else None
            for name in parameters or {}:
                if "-" in name:
                    result.problems.append(f"{self._rel(path)}: parameter {name!r} is not snake_case")
        return result

    def rc011(self) -> RuleResult:
        result = RuleResult("RC011")
        match = RELEASE_TAG.match(self.tag)
        if not self.orb_alias or not match:
            result.skipped = "runs only with an orb alias and a vX.Y.Z release tag"
            return result
        for path in self._files("examples"):
            data = self._load(path)
            usage = data.get("usage") if isinstance(data, dict) else None
            reference = str(((usage or {}).get("orbs") or {}).get(self.orb_alias) or "")
            major = reference.split("@", 1)[-1].split(".", 1)[0]
            if major != match.group(1):
                result.problems.append(
                    f"{self._rel(path)}: uses {reference or 'no ' + self.orb_alias!r}, "
                    f"not major version {match.group(1)} of the orb"
                )
        return result

    def rc012(self) -> RuleResult:
        result = RuleResult("RC012")
        for path in self._files("jobs", "commands", "executors"):
            data = self._load(path)
            if not isinstance(data, dict):
                continue
            for name, spec in (data.get("parameters") or {}).items():
                default = str(spec.get("default", "")) if isinstance(spec, dict) else ""
                if "$" not in default or default.endswith("$"):
                    continue
                for key_value in _values_under_keys_ending(data, "key"):
                    if name in key_value:
                        result.problems.append(
                            f"{self._rel(path)}: parameter {name!r} defaults to an environment variable and is "
                            "used in a cache key; `default` parameters referencing environment variables "
                            "cannot be used directly in key properties."
                        )
        return result


def _find_key(node: Any, wanted: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == wanted:
                yield value
            yield from _find_key(value, wanted)
    elif isinstance(node, list):
        for item in node:
            yield from _find_key(item, wanted)


def _values_under_keys_ending(node: Any, suffix: str, parent: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _values_under_keys_ending(value, suffix, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values_under_keys_ending(item, suffix, parent)
    elif isinstance(node, str) and parent.endswith(suffix):
        yield node


def _fetch_problem(url: str, attempts: int = 3) -> Optional[str]:
    problem: Optional[str] = "not fetched"
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=20) as response:  # noqa: S310 - the orb's own URLs
                status = int(response.status)
        except OSError as exc:
            problem = str(exc)
            continue
        problem = None if status == 200 else f"HTTP {status}"
        if problem is None:
            break
    return problem
