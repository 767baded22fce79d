"""Stand-in wheels built on the spot, so installer tests need no package index and no network."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(
    directory: Path, name: str, version: str, requires: Sequence[str] = (), modules: Mapping[str, str] | None = None
) -> Path:
    """A pure-Python wheel of one package (``name`` with ``-`` as ``_``) that declares ``requires``.

    ``modules`` maps module files inside the package (``cli.py``) to their text.
    """
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        **{f"{module}/{path}": text for path, text in (modules or {}).items()},
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},{_digest(text.encode())},{len(text.encode())}" for path, text in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name_in_zip, text in files.items():
            wheel.writestr(name_in_zip, text)
        wheel.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return path


def wheel_from_installed(directory: Path, name: str) -> tuple[str, Path]:
    """Pack the distribution ``name`` as installed in this interpreter back into a wheel; its pin and path.

    Takes the files its RECORD lists inside site-packages (not scripts, not bytecode) and the first tag
    of its WHEEL file, so compiled distributions keep their platform tag.
    """
    from importlib.metadata import distribution

    dist = distribution(name)
    version = dist.version
    files = [f for f in dist.files or [] if not str(f).startswith("..") and "__pycache__" not in str(f)]
    dist_info = next(str(f).split("/")[0] for f in files if str(f).endswith(".dist-info/METADATA"))
    wheel_text = dist.read_text("WHEEL") or ""
    tag = next((line.split(":", 1)[1].strip() for line in wheel_text.splitlines() if line.startswith("Tag:")), "")
    module = dist_info[: -len(".dist-info")].rsplit("-", 1)[0]
    path = directory / f"{module}-{version}-{tag or 'py3-none-any'}.whl"
    directory.mkdir(parents=True, exist_ok=True)
    skipped = {f"{dist_info}/{n}" for n in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")}
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for file in files:
            if str(file) in skipped:
                continue
            data = Path(str(file.locate())).read_bytes()
            wheel.writestr(str(file), data)
            record.append(f"{file},{_digest(data)},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        wheel.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return f"{dist.metadata['Name']}=={version}", path
