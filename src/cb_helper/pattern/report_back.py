"""Bring B's result into A: its outputs (from B's receipt), its failing tests (JUnit XML) and a short summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from cb_helper.api.client import CircleCIClient
from cb_helper.pattern.findings import Findings, collect, junit_xml, summary_lines
from cb_helper.pattern.outputs import Outputs, values_from, write_outputs
from cb_helper.pattern.status import Verdict


@dataclass
class Delivery:
    """What A receives from B."""

    outputs: Optional[Outputs]
    findings: Optional[Findings]
    lines: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.outputs is not None:
            data["outputs"] = self.outputs.as_dict()
        if self.findings is not None:
            data["tests"] = self.findings.as_dict()
        return data


def outputs_of(receipt: Optional[dict[str, Any]]) -> Outputs:
    """The outputs B's receipt carries (checked again here), or why there are none."""
    if receipt is None:
        return Outputs("none", error="it did not circle back with a receipt")
    return values_from(receipt.get("outputs"))


def deliver(
    client: CircleCIClient,
    verdict: Verdict,
    receipt: Optional[dict[str, Any]],
    *,
    with_outputs: bool,
    outputs_dir: Optional[Path] = None,
    env_prefix: str = "",
    junit_file: Optional[Path] = None,
    width: Optional[int] = None,
) -> Delivery:
    """Read B's outputs and tests; write the outputs and the JUnit file when asked; the summary lines."""
    project = str(verdict.project_slug or "the downstream")
    outputs = outputs_of(receipt) if with_outputs else None
    findings = collect(client, verdict) if verdict.settled and verdict.state != "errored" else None
    delivery = Delivery(outputs, findings)
    if findings is not None:
        delivery.lines.extend(summary_lines(verdict, findings, width))
    if outputs is not None:
        delivery.lines.append(outputs.describe(project))
    if outputs_dir is not None:
        delivery.written.extend(write_outputs(outputs_dir, outputs or Outputs("none"), env_prefix))
    if junit_file is not None and findings is not None and findings.failures:
        junit_file.write_text(junit_xml(findings), encoding="utf-8")
        delivery.written.append(junit_file)
    return delivery
