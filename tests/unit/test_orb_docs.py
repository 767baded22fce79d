"""docs/orb-reference.md is generated from orb/src and current: every component, parameter and example."""

from __future__ import annotations

from pathlib import Path

from tools.orb_docs import KINDS, TARGET, components, render

ROOT = Path(__file__).resolve().parents[2]


def test_the_orb_reference_is_current() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), "run: python -m tools.orb_docs"


def test_every_component_parameter_and_example_is_described() -> None:
    text = TARGET.read_text(encoding="utf-8")
    for kind, _ in KINDS:
        for name, body in components(kind).items():
            section = text.split(f"### {kind[:-1]} `{name}`", 1)[1].split("\n### ", 1)[0]
            assert " ".join(str(body["description"]).split()) in section, name
            for parameter, spec in (body.get("parameters") or {}).items():
                row = next((line for line in section.splitlines() if line.startswith(f"| `{parameter}` |")), "")
                assert " ".join(str(spec["description"]).split())[:40] in row, (name, parameter)
    examples = components("examples")
    assert len(examples) >= 8
    for name in examples:
        assert f"### `{name}`" in text
        assert (ROOT / "orb" / "src" / "examples" / f"{name}.yml").is_file()


def test_parameters_users_asked_about_are_there() -> None:
    text = TARGET.read_text(encoding="utf-8")
    for parameter in ("timeout", "interval", "start_timeout", "verify_start", "receipt_dir", "helper_source"):
        assert f"| `{parameter}` |" in text, parameter


def test_the_readme_and_orb_md_point_to_the_reference() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "[docs/orb-reference.md](docs/orb-reference.md)" in readme
    count = len(components("examples"))
    words = {6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}
    assert f"each of the {words.get(count, str(count))} examples" in readme  # the README's count is the orb's
    assert "[orb-reference.md](orb-reference.md)" in (ROOT / "docs" / "orb.md").read_text(encoding="utf-8")
