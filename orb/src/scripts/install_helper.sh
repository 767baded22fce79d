#!/usr/bin/env bash
# Install cb-helper. The packer puts a generated preamble in front of this script (as
# scripts/helper_bundle.sh) that sets CB_BUNDLE_VERSION, CB_BUNDLE_REQUIREMENTS (the pinned packages
# the helper imports) and CB_BUNDLE_JQ (the pinned jq binding, only for --jq), and defines
# cb_bundle_write DIR, which writes the helper's bundled sources into DIR.
#
# Fast path (the image's Python has pip, as cimg/python does): the image's pip installs the pins into a
# directory of their own with --target, --no-deps (the pins are the complete set) and no bytecode
# compilation. Without pip in the image, a virtual environment bootstraps one first: seconds more.
set -eo pipefail

version="${CB_BUNDLE_VERSION:?this script needs the preamble the orb packer generates}"
source_kind="${CB_PARAM_SOURCE:-bundled}"
requirement="${CB_PARAM_PIP_REQUIREMENT-}"
install_dir="${CB_PARAM_INSTALL_DIR:-$HOME/.cb-helper}"
with_jq="${CB_PARAM_JQ:-0}"

case "$source_kind" in
  bundled | index) ;;
  *)
    echo "install_helper: source '$source_kind' is not one of: bundled, index" >&2
    exit 2
    ;;
esac
case "$with_jq" in
  0 | 1 | true | false) ;;
  *)
    echo "install_helper: jq '$with_jq' is not a boolean (expected true or false)" >&2
    exit 2
    ;;
esac

put_on_path() {
  if [ -n "${BASH_ENV-}" ]; then
    echo "export PATH=\"$install_dir/bin:\$PATH\"" >> "$BASH_ENV"
  fi
}

# Whether the cb-helper at $1 will do: this version, and the jq binding when it is asked for (a bundled
# install keeps its packages in lib/ beside bin/; any other install has every dependency).
usable() {
  [ "$("$1" --version 2> /dev/null)" = "cb-helper $version" ] || return 1
  [ "$with_jq" = 1 ] || [ "$with_jq" = true ] || return 0
  local prefix
  prefix="$(dirname "$(dirname "$(readlink -f "$1")")")"
  [ ! -d "$prefix/lib/cb_helper" ] || [ -d "$prefix/lib/jq" ]
}

if [ "$source_kind" = bundled ] || [ -z "$requirement" ]; then
  if command -v cb-helper > /dev/null 2>&1 && usable "$(command -v cb-helper)"; then
    echo "cb-helper $version is already installed ($(command -v cb-helper)); nothing to do."
    exit 0
  fi
  # Installed by an earlier step into the same directory (or restored from a cache), not yet on PATH.
  if usable "$install_dir/bin/cb-helper"; then
    echo "cb-helper $version is already installed in $install_dir; putting it on PATH."
    put_on_path
    exit 0
  fi
fi

# One probe per candidate: the version, whether this Python has pip, and its real executable (not a shim).
python=""
python_pip=""
interpreter=""
for candidate in python3 python; do
  command -v "$candidate" > /dev/null 2>&1 || continue
  if found="$("$candidate" -c 'import sys
if sys.version_info < (3, 9): sys.exit(1)
import importlib.util
print("pip" if importlib.util.find_spec("pip") else "none")
print(sys.executable)' 2> /dev/null)"; then
    python="$candidate"
    python_pip="${found%%$'\n'*}"
    interpreter="${found#*$'\n'}"
    break
  fi
done
if [ -z "$python" ]; then
  echo "install_helper: cb-helper needs python3 3.9 or newer, and this image has none." >&2
  echo "Use the circle_back job (it runs on its own Python image) instead of the approve_job command," >&2
  echo "or run this step on an image with Python." >&2
  exit 2
fi
if [ -z "$interpreter" ] || [ "$interpreter" = "$python_pip" ]; then interpreter="$(command -v "$python")"; fi

# The helper lives in $prefix/lib and runs isolated (-I: no PYTHONPATH, no user site; -S: no
# site-packages of the image), so nothing installed in the image can shadow its pinned packages.
prefix="$install_dir/helper-$version"
rm -rf "$prefix"
mkdir -p "$prefix/bin" "$prefix/lib"
pip_options=(install --quiet --disable-pip-version-check --no-input --no-compile --target "$prefix/lib")
if [ -n "${CB_PARAM_INDEX_URL-}" ]; then pip_options+=(--index-url "$CB_PARAM_INDEX_URL"); fi
export PIP_ROOT_USER_ACTION=ignore # pip's warning about running as root; older pips ignore the variable
if [ "$python_pip" = pip ]; then
  pip=("$python" -m pip "${pip_options[@]}")
else
  echo "$python has no pip: bootstrapping pip into a virtual environment first (a few seconds more)"
  if ! "$python" -m venv --clear "$install_dir/pip-venv" > /dev/null; then
    echo "install_helper: '$python' has no pip and '$python -m venv' failed; install pip or the venv module (e.g. python3-pip or python3-venv), or use the circle_back job." >&2
    exit 2
  fi
  pip=("$install_dir/pip-venv/bin/python" -m pip "${pip_options[@]}")
fi

if [ "$source_kind" = bundled ]; then
  packages=("${CB_BUNDLE_REQUIREMENTS[@]}")
  if [ "$with_jq" = 1 ] || [ "$with_jq" = true ]; then packages+=("${CB_BUNDLE_JQ[@]}"); fi
  echo "Installing the cb-helper $version bundled in this orb, with its pinned dependencies"
  if [ "${#packages[@]}" -gt 0 ]; then "${pip[@]}" --no-deps "${packages[@]}"; fi
  cb_bundle_write "$prefix/lib"
else
  [ -n "$requirement" ] || requirement="cb-helper==$version"
  echo "Installing $requirement from a package index"
  "${pip[@]}" "$requirement"
fi
cat > "$prefix/bin/cb-helper" << LAUNCHER
#!$interpreter -IS
import os, sys
sys.path[:0] = [os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "lib")]
from cb_helper.cli import main
sys.exit(main())
LAUNCHER
chmod +x "$prefix/bin/cb-helper"

mkdir -p "$install_dir/bin"
ln -sf "$prefix/bin/cb-helper" "$install_dir/bin/cb-helper"
put_on_path
"$install_dir/bin/cb-helper" --version
