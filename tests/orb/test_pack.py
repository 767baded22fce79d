"""The packer: golden output, the CLI's error wording, and refusal of non-portable sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.orbkit.pack import PackError, pack_orb

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


MINIMAL = {"@orb.yml": "version: 2.1\ndescription: x\n"}


def test_golden_output_is_byte_identical() -> None:
    expected = (FIXTURES / "pack_basic" / "expected.yml").read_text(encoding="utf-8")
    assert pack_orb(FIXTURES / "pack_basic" / "src") == expected


# circleci-cli's own test of `orb pack` (cmd/orb_test.go, "Orb pack"): its source tree and the output it requires.
CLI_SOURCE = {
    "@orb.yml": "",
    "scripts/script.sh": "echo Hello, world!",
    "commands/orb.yml": (
        "steps:\n    - run:\n        name: Say hello\n        command: <<include(scripts/script.sh)>>\n\n"
        "examples:\n    example:\n        description: |\n            An example of how to use the orb.\n"
        "        usage:\n            version: 2.1\n"
        "            orbs:\n                orb-name: company/orb-name@1.2.3\n"
        "            setup: true\n            workflows:\n                create-pipeline:\n"
        "                    jobs:\n                        orb-name: create-pipeline-x\n"
    ),
}


def test_the_cli_own_pack_expectations_hold(tmp_path: Path) -> None:
    packed = pack_orb(write(tmp_path, CLI_SOURCE))
    # A sequence sits a full indent (4) below its key, as yaml.v3 writes it; the CLI's test says so verbatim.
    assert (
        "        steps:\n"
        "            - run:\n"
        "                command: echo Hello, world!\n"
        "                name: Say hello\n"
    ) in packed
    assert (
        "                    orbs:\n"
        "                        orb-name: company/orb-name@1.2.3\n"
        "                    setup: true\n"
        "                    version: 2.1\n"
        "                    workflows:\n"
    ) in packed


def test_golden_output_reads_back_as_the_sources(tmp_path: Path) -> None:
    packed = yaml.safe_load(pack_orb(FIXTURES / "pack_basic" / "src"))
    assert list(packed) == ["version", "description", "display", "commands", "executors", "jobs", "examples"]
    greet = packed["commands"]["greet"]["steps"][0]["run"]["command"]
    script = (FIXTURES / "pack_basic" / "src" / "scripts" / "greet.sh").read_text()
    assert greet == script.replace("<<", "\\<<")
    assert packed["examples"]["say_hello"]["usage"]["version"] == "2.1"


def test_cli_writes_dist_file(tmp_path: Path) -> None:
    out = tmp_path / "dist" / "orb.yml"
    subprocess.run(
        [sys.executable, "-m", "tools.orbkit", "pack", "--no-bundle", str(FIXTURES / "pack_basic" / "src"), str(out)],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    assert out.read_text() == (FIXTURES / "pack_basic" / "expected.yml").read_text()


def test_cli_error_uses_the_cli_wording(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.orbkit", "pack", "--no-bundle", str(tmp_path), str(tmp_path / "o.yml")],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 255
    assert result.stderr == "Error: @orb.yml file not found, are you sure this is the Orb root?\n"


def test_unknown_root_keys_and_usage_keys_are_dropped_or_refused(tmp_path: Path) -> None:
    write(tmp_path, {**MINIMAL, "examples/use.yml": "description: d\nusage:\n  version: 2.1\n  workflows: {}\n"})
    text = pack_orb(tmp_path)
    assert (
        '    use:\n        description: d\n        usage:\n            version: "2.1"\n            workflows: {}\n'
        in text
    )


def test_missing_workflows_is_written_as_null(tmp_path: Path) -> None:
    write(tmp_path, {**MINIMAL, "examples/use.yml": "usage:\n  version: 2.1\n  orbs: {a: b/c@1}\n"})
    assert "            workflows: null\n" in pack_orb(tmp_path)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"commands/x.yml": "- a\n"}, "expected a map, got a `[]interface {}` which is not supported at this time for"),
        (
            {"commands/x.yml": "steps:\n  - run:\n      command: <<include(a.sh)>> <<include(b.sh)>>\n"},
            "multiple include statements: '<<include(a.sh)>> <<include(b.sh)>>'",
        ),
        (
            {"commands/x.yml": "steps:\n  - run:\n      command: echo <<include(a.sh)>>\n"},
            "entire string must be include statement: 'echo <<include(a.sh)>>'",
        ),
        ({"commands/x.yml": "steps:\n  - run:\n      command: <<include(scripts/nope.sh)>>\n"}, "for inclusion"),
    ],
)
def test_cli_errors(tmp_path: Path, files: dict[str, str], message: str) -> None:
    write(tmp_path, {**MINIMAL, **files})
    with pytest.raises(PackError) as caught:
        pack_orb(tmp_path)
    assert str(caught.value).startswith("An unexpected error occurred: ")
    assert message in str(caught.value)


def test_missing_include_names_the_path(tmp_path: Path) -> None:
    write(tmp_path, {**MINIMAL, "jobs/x.yml": "steps:\n  - run:\n      command: <<include(scripts/nope.sh)>>\n"})
    with pytest.raises(PackError, match=f"could not open {tmp_path}/scripts/nope.sh for inclusion"):
        pack_orb(tmp_path)


def test_missing_root_file(tmp_path: Path) -> None:
    with pytest.raises(PackError, match=r"^@orb.yml file not found, are you sure this is the Orb root\?$"):
        pack_orb(tmp_path)


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({"commands/x.yml": "parameters:\n  a:\n    type: boolean\n    default: on\n"}, "unquoted 'on'"),
        ({"commands/x.yml": "steps:\n  - run:\n      name: 0755\n"}, "'0755'"),
        ({"commands/x.yml": "a: 2024-01-02\n"}, "'2024-01-02'"),
        ({"commands/aws/login.yml": "steps: []\n"}, "commands/aws/login.yml is not a component file"),
        ({"scripts/fixture.yml": "a: 1\n"}, "scripts/fixture.yml is not a component file"),
        ({"commands/@all.yml": "a: {}\n"}, "'@' files"),
        ({"extra.yml": "a: 1\n"}, "extra.yml is not a component file"),
        ({"@orb.yml": "version: 2.1\nparameters: {}\n"}, "top-level key(s) parameters"),
        ({"examples/e.yml": "usage:\n  version: 2.1\n  executors: {}\n"}, "executors are dropped by v0"),
        ({"examples/e.yml": "usage: {}\nextra: 1\n"}, "example e has key(s) extra"),
        ({"commands/x.yml": "a: 1\n", "commands/x.yaml": "b: 1\n"}, "more than one file"),
        ({"commands/x.yml": "a: 1\n---\nb: 2\n"}, "2 YAML documents"),
    ],
)
def test_non_portable_sources_are_refused(tmp_path: Path, files: dict[str, str], fragment: str) -> None:
    write(tmp_path, {**MINIMAL, **files})
    with pytest.raises(PackError) as caught:
        pack_orb(tmp_path)
    assert fragment in str(caught.value)


def test_duplicate_keys_are_an_error(tmp_path: Path) -> None:
    write(tmp_path, {**MINIMAL, "jobs/x.yml": "a: 1\na: 2\n"})
    with pytest.raises(PackError, match="already defined at line 1"):
        pack_orb(tmp_path)


def test_escaped_guillemets_in_a_script_are_refused(tmp_path: Path) -> None:
    write(tmp_path, {**MINIMAL, "jobs/x.yml": "c: <<include(s.sh)>>\n", "s.sh": "echo \\<<x\n"})
    with pytest.raises(PackError, match="ambiguous"):
        pack_orb(tmp_path)


def test_overlay_replaces_a_file_without_touching_the_tree(tmp_path: Path) -> None:
    write(tmp_path, {**MINIMAL, "jobs/x.yml": "c: <<include(gen.sh)>>\n"})
    assert "    x:\n        c: |\n            generated \\<< here\n" in pack_orb(
        tmp_path, overlay={"gen.sh": "generated << here\n"}
    )
    assert not (tmp_path / "gen.sh").exists()


def test_includes_outside_jobs_commands_executors_stay_literal(tmp_path: Path) -> None:
    write(tmp_path, {**MINIMAL, "examples/e.yml": "description: <<include(none.sh)>>\nusage: {version: 2.1}\n"})
    assert "description: <<include(none.sh)>>" in pack_orb(tmp_path)
