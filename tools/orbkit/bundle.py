"""Bundle cb-helper's own sources into the orb, and pack the orb with them.

The bundle is a POSIX sh script (``scripts/helper_bundle.sh`` in the packed orb): a generated preamble that
sets the helper's version and pinned requirements and defines ``cb_bundle_write PYTHON DIR``, followed by
``scripts/install_helper.sh``. ``cb_bundle_write`` unpacks the helper's modules into DIR with PYTHON's
standard library: they travel as a bzip2-compressed tar, base85-encoded, in a quoted heredoc.

Only the modules ``cb-helper`` can import go in: the import closure of :data:`ENTRY_MODULE` (what the
installed launcher imports), found by reading the sources' import statements, with the data files of
their packages (the HTML page's Jinja2 template). The simulator and the local
runner are reached only by name (``cb-helper sim`` and ``rehearse``, imported lazily), so they stay out;
:data:`NEVER_BUNDLED` makes an import of them from a bundled module an error.
"""

from __future__ import annotations

import ast
import base64
import io
import re
import shlex
import tarfile
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path

from tools.orbkit.pack import pack_orb

REPO_ROOT = Path(__file__).resolve().parents[2]
ORB_SRC = REPO_ROOT / "orb" / "src"
PACKAGE_DIR = REPO_ROOT / "src" / "cb_helper"
REQUIREMENTS = REPO_ROOT / "orb" / "helper-requirements.txt"
BUNDLE_PATH = "scripts/helper_bundle.sh"
INSTALLER_PATH = "scripts/install_helper.sh"
#: The module the installed ``cb-helper`` launcher imports (``from cb_helper.cli import main``).
ENTRY_MODULE = "cb_helper.cli"
#: Modules that must never be bundled: pipelines do not need the simulator or the runner.
NEVER_BUNDLED = ("cb_helper.sim", "cb_helper.rehearse", "cb_helper.commands.sim", "cb_helper.commands.rehearse")
#: Library packages whose docstrings the bundle leaves out: no user reads them (click takes the help it
#: shows from the commands and their options, in ``cb_helper.commands`` and ``cb_helper.cli``).
UNDOCUMENTED_PACKAGES = ("api", "pattern")
#: Pinned packages the bundled helper never imports: only the simulator and the runner, left out, use them.
UNBUNDLED_PACKAGES = frozenset({"pyyaml"})
#: Pinned packages installed only on request (install_helper's ``jq``): no orb step uses ``--jq``.
JQ_PACKAGES = frozenset({"jq"})
DELIMITER = "CB_HELPER_BUNDLE_EOF"
#: Characters per line of the encoded payload: long lines, because every line of a command is indented
#: again in the packed orb and in each compiled config (the decoder ignores the line breaks).
LINE_WIDTH = 1024

_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)

#: Unpacks the payload (stdin) into the directory argv[1] (regular files only, no absolute or ``..`` paths), run
#: with -I -S: nothing in the environment or site-packages is imported.
#: Written with double quotes only: the shell passes it in single quotes.
DECODER = """import base64, io, os, sys, tarfile
target = sys.argv[1]
data = io.BytesIO(base64.b85decode("".join(sys.stdin.read().split())))
with tarfile.open(fileobj=data, mode="r:bz2") as bundle:
    for member in bundle.getmembers():
        parts = member.name.split("/")
        if not member.isfile() or member.name.startswith("/") or ".." in parts:
            sys.exit("cb_bundle_write: unexpected entry " + member.name)
        path = os.path.join(target, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(bundle.extractfile(member).read())"""


class BundleError(Exception):
    """The helper cannot be bundled as it stands."""


def helper_version(package_dir: Path = PACKAGE_DIR) -> str:
    """The version in ``cb_helper/__init__.py``: the one source of truth for the package and the orb."""
    match = _VERSION.search((package_dir / "__init__.py").read_text(encoding="utf-8"))
    if not match:
        raise BundleError(f"no __version__ in {package_dir / '__init__.py'}")
    return match.group(1)


def bundled_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The helper's files that go into the orb, relative to the package's parent directory: the modules of
    the import closure of :data:`ENTRY_MODULE`, and the data files of the packages among them."""
    modules = module_closure(package_dir)
    files = [_module_file(package_dir, name) for name in modules]
    for name in modules:
        if _module_file(package_dir, name).name == "__init__.py":
            files.extend(_package_data(package_dir.joinpath(*name.split(".")[1:]), package_dir.parent))
    return sorted(files)


def _package_data(directory: Path, root: Path) -> list[Path]:
    """The files of a package directory that are not Python (the HTML page's template), its subdirectories
    included, except subpackages (each is bundled, or not, as a module), bytecode caches and ``py.typed``."""
    found = []
    for path in directory.iterdir():
        if path.is_dir():
            if path.name != "__pycache__" and not (path / "__init__.py").is_file():
                found.extend(_package_data(path, root))
        elif path.suffix not in (".py", ".pyc") and path.name != "py.typed":  # a marker for type checkers
            found.append(path.relative_to(root))
    return found


def module_closure(package_dir: Path = PACKAGE_DIR, roots: Iterable[str] = (ENTRY_MODULE,)) -> list[str]:
    """Every module of the package that importing ``roots`` can import (parent packages included), sorted.

    Imports anywhere in a module count (inside functions too: commands import their heavy modules lazily),
    except under ``if TYPE_CHECKING:``. A name that is not a module of the package (an attribute) is ignored.
    """
    package = package_dir.name
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or _module_path(package_dir, name) is None:
            continue
        if any(name == never or name.startswith(never + ".") for never in NEVER_BUNDLED):
            raise BundleError(f"{name} would be bundled: a bundled module imports it (expected only by name)")
        seen.add(name)
        parts = name.split(".")
        pending.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        path = _module_path(package_dir, name)
        assert path is not None
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        pending.extend(m for m in _imported(tree.body, name, is_package) if m.split(".")[0] == package)
    return sorted(seen)


def _module_path(package_dir: Path, name: str) -> Path | None:
    top, *rest = name.split(".")
    if top != package_dir.name:
        return None
    for candidate in (package_dir.joinpath(*rest, "__init__.py"), package_dir.joinpath(*rest).with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _module_file(package_dir: Path, name: str) -> Path:
    path = _module_path(package_dir, name)
    assert path is not None
    return path.relative_to(package_dir.parent)


def _imported(body: Iterable[ast.stmt], module: str, is_package: bool) -> set[str]:
    """Module names (and ``from`` names that may be submodules) imported by the statements, at any depth."""
    found: set[str] = set()
    for node in body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            found |= _imported(node.orelse, module, is_package)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)
        else:
            found |= _imported(_statements(node), module, is_package)
    return found


def _statements(node: ast.AST) -> Iterator[ast.stmt]:
    """The statements directly inside ``node`` (through except handlers and match cases)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt):
            yield child
        elif not isinstance(child, ast.expr):
            yield from _statements(child)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def requirements(path: Path = REQUIREMENTS) -> list[str]:
    """The pinned third-party requirements, one per non-comment line."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def requirement_name(requirement: str) -> str:
    """The normalized project name of a requirement line (``PyYAML==6.0.4; ...`` -> ``pyyaml``)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    if not match:
        raise BundleError(f"requirement {requirement!r} does not start with a project name")
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def bundle_requirements(path: Path = REQUIREMENTS) -> tuple[list[str], list[str]]:
    """The pins the bundled helper is installed with, and those added only for the jq binding."""
    pins = [r for r in requirements(path) if requirement_name(r) not in UNBUNDLED_PACKAGES]
    return (
        [r for r in pins if requirement_name(r) not in JQ_PACKAGES],
        [r for r in pins if requirement_name(r) in JQ_PACKAGES],
    )


def render_bundle(
    package_dir: Path = PACKAGE_DIR, orb_src: Path = ORB_SRC, requirements_file: Path = REQUIREMENTS
) -> str:
    """Return the text of ``scripts/helper_bundle.sh``: the preamble, then the installer."""
    installer = (orb_src / INSTALLER_PATH).read_text(encoding="utf-8")
    body = installer.split("\n", 1)[1] if installer.startswith("#!") else installer
    return render_preamble(package_dir, requirements_file) + body


def bundled_text(root: Path, relative: Path) -> str:
    """What the bundle carries of one file: a module without comments, and without docstrings in the
    library packages (:data:`UNDOCUMENTED_PACKAGES`), every remaining line on its own line number; a data
    file as it is."""
    text = (root / relative).read_text(encoding="utf-8")
    if relative.suffix != ".py":
        return text
    return slim_source(text, docstrings=relative.parts[1] not in UNDOCUMENTED_PACKAGES, name=str(relative))


def slim_source(text: str, docstrings: bool = True, name: str = "<source>") -> str:
    """``text`` without comments and, unless ``docstrings``, with each docstring replaced by ``""``.

    Lines keep their numbers (a removed line becomes an empty one), so a traceback points at the same line
    as in the package. The result must parse to the same syntax tree as ``text`` with its docstrings
    emptied: anything else is a :class:`BundleError`.
    """
    lines = text.splitlines(keepends=True)
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column].rstrip() + "\n"
    tree = ast.parse(text, name)
    if not docstrings:
        for node in _docstrings(tree):
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
            start = lines[first].encode("utf-8")[: node.col_offset].decode("utf-8")
            rest = lines[last].encode("utf-8")[node.end_col_offset :].decode("utf-8")
            if start.strip() or rest.strip():
                continue  # not alone on its lines: left as it is
            lines[first] = f'{start}""\n'
            lines[first + 1 : last + 1] = ["\n"] * (last - first)
            node.value = ast.Constant("")
    slim = "".join(lines)
    if len(slim.splitlines()) != len(text.splitlines()) or ast.dump(ast.parse(slim, name)) != ast.dump(tree):
        raise BundleError(f"{name}: removing comments and docstrings changed the code")
    return slim


def _docstrings(tree: ast.Module) -> list[ast.Expr]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                found.append(first)
    return found


def payload(package_dir: Path = PACKAGE_DIR) -> bytes:
    """The bundled modules as a bzip2-compressed tar, the same bytes for the same sources."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:bz2", format=tarfile.USTAR_FORMAT, compresslevel=9) as bundle:
        for relative in bundled_files(package_dir):
            data = bundled_text(package_dir.parent, relative).encode("utf-8")
            info = tarfile.TarInfo(relative.as_posix())
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            bundle.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def render_preamble(package_dir: Path = PACKAGE_DIR, requirements_file: Path = REQUIREMENTS) -> str:
    """The generated part: version, pinned requirements and ``cb_bundle_write PYTHON DIR``."""
    version = helper_version(package_dir)
    core, jq = bundle_requirements(requirements_file)
    files = bundled_files(package_dir)
    encoded = base64.b85encode(payload(package_dir)).decode("ascii")
    out = [
        "#!/bin/sh",
        f"# Generated at pack time from src/cb_helper (cb-helper {version}) and {INSTALLER_PATH}.",
        "# Do not edit: run `python -m tools.orbkit bundle` (or pack) again.",
        f"CB_BUNDLE_VERSION={shlex.quote(version)}",
        "# The pinned packages the helper imports, one a line; the jq binding, only for --jq.",
        f"CB_BUNDLE_REQUIREMENTS={shlex.quote(chr(10).join(core))}",
        f"CB_BUNDLE_JQ={shlex.quote(chr(10).join(jq))}",
        "",
        f"# cb_bundle_write PYTHON DIR: unpack the {len(files)} modules cb-helper imports into DIR with PYTHON's",
        "# standard library. They travel as a bzip2-compressed tar in base85 (RFC 1924's alphabet: no quotes,",
        "# no backslash, no space); to list them, decode the lines between the two markers",
        f"# {DELIMITER} with Python's base64.b85decode, then: tar -tj",
        "cb_bundle_write() {",
        f"  \"$1\" -I -S -c '{DECODER}' \"$2\" << '{DELIMITER}'",
        *(encoded[start : start + LINE_WIDTH] for start in range(0, len(encoded), LINE_WIDTH)),
        DELIMITER,
        "}",
        "",
        "",
    ]
    return "\n".join(out)


def build_orb(orb_src: Path = ORB_SRC, package_dir: Path = PACKAGE_DIR) -> str:
    """Pack ``orb_src`` with the helper bundle generated in memory (the source tree is not touched)."""
    bundle = render_bundle(package_dir, orb_src)
    return pack_orb(orb_src, overlay={BUNDLE_PATH: bundle})
