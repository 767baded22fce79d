#!/bin/sh
# Install cb-helper. POSIX sh: it runs the same under bash 3.2+, dash and busybox ash (CircleCI runs a
# step with /bin/sh on an image without bash). The packer puts a generated preamble in front of this
# script (as scripts/helper_bundle.sh) that sets CB_BUNDLE_VERSION, CB_BUNDLE_REQUIREMENTS (the pinned
# packages the helper imports, one a line) and CB_BUNDLE_JQ (the pinned jq binding, only for --jq), and
# defines cb_bundle_write PYTHON DIR, which unpacks the helper's bundled modules into DIR.
#
# Fast path (the image's Python has pip, as cimg/python does): the image's pip installs the pins into a
# directory of their own with --target, --no-deps (the pins are the complete set) and no bytecode
# compilation. Without pip in the image, a virtual environment bootstraps one first: seconds more.
set -e

version="${CB_BUNDLE_VERSION:?this script needs the preamble the orb packer generates}"
source_kind="${CB_PARAM_SOURCE:-bundled}"
requirement="${CB_PARAM_PIP_REQUIREMENT-}"
install_dir="${CB_PARAM_INSTALL_DIR:-$HOME/.cb-helper}"
with_jq="${CB_PARAM_JQ:-0}"
nl='
'

case "$source_kind" in
  bundled | index) ;;
  *)
    echo "install_helper: source '$source_kind' is not one of: bundled, index" >&2
    exit 2
    ;;
esac
case "$with_jq" in
  1 | true) with_jq=1 ;;
  0 | false) with_jq=0 ;;
  *)
    echo "install_helper: jq '$with_jq' is not a boolean (expected true or false)" >&2
    exit 2
    ;;
esac

# Later steps find cb-helper on PATH: bash reads $BASH_ENV at the start of each step; under sh the
# orb's other steps read it themselves.
put_on_path() {
  if [ -n "${BASH_ENV-}" ]; then
    echo "export PATH=\"$install_dir/bin:\$PATH\"" >> "$BASH_ENV"
  fi
}

# Whether the cb-helper at $1 will do: this version, and the jq binding when it is asked for (a bundled
# install keeps its packages in lib/ beside the bin/ its links lead to; any other install has every
# dependency).
usable() {
  [ "$("$1" --version 2> /dev/null)" = "cb-helper $version" ] || return 1
  [ "$with_jq" = 1 ] || return 0
  usable_target="$1"
  while usable_link="$(readlink "$usable_target" 2> /dev/null)"; do # a link, to a link (no readlink -f on macOS 12)
    case "$usable_link" in
      /*) usable_target="$usable_link" ;;
      *) usable_target="${usable_target%/*}/$usable_link" ;;
    esac
  done
  usable_prefix="${usable_target%/*}"
  usable_prefix="${usable_prefix%/*}"
  [ ! -d "$usable_prefix/lib/cb_helper" ] || [ -d "$usable_prefix/lib/jq" ]
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

# One probe per candidate: the version, whether this Python has pip and bz2 (which unpacks the bundle),
# and its real executable (not a shim).
python=""
for candidate in python3 python; do
  command -v "$candidate" > /dev/null 2>&1 || continue
  if found="$("$candidate" -c 'import sys
if sys.version_info < (3, 9): sys.exit(1)
import importlib.util
print("pip" if importlib.util.find_spec("pip") else "none")
print("bz2" if importlib.util.find_spec("_bz2") else "none")
print(sys.executable)' 2> /dev/null)"; then
    python="$candidate"
    python_pip="${found%%"$nl"*}"
    found="${found#*"$nl"}"
    python_bz2="${found%%"$nl"*}"
    interpreter="${found#*"$nl"}"
    break
  fi
done
if [ -z "$python" ]; then
  echo "install_helper: cb-helper needs python3 3.9 or newer, and this image has none." >&2
  echo "Use the circle_back job (it runs on its own Python image) instead of the approve_job command," >&2
  echo "or run this step on an image with Python." >&2
  exit 2
fi
# sys.executable can be empty (then only two lines came back): use the command's path.
if [ -z "$interpreter" ] || [ "$interpreter" = "$python_bz2" ]; then interpreter="$(command -v "$python")"; fi
if [ "$source_kind" = bundled ] && [ "$python_bz2" != bz2 ]; then
  echo "install_helper: $python has no bz2 module (built without libbz2), which unpacks the bundled cb-helper; use an image whose Python has it, or source: index." >&2
  exit 2
fi

# The helper lives in $prefix/lib and runs isolated (-I: no PYTHONPATH, no user site; -S: no
# site-packages of the image), so nothing installed in the image can shadow its pinned packages.
prefix="$install_dir/helper-$version"
rm -rf "$prefix"
mkdir -p "$prefix/bin" "$prefix/lib"
export PIP_ROOT_USER_ACTION=ignore # pip's warning about running as root; older pips ignore the variable
if [ "$python_pip" = pip ]; then
  pip_python="$python"
else
  echo "$python has no pip: bootstrapping pip into a virtual environment first (a few seconds more)"
  if ! "$python" -m venv --clear "$install_dir/pip-venv" > /dev/null; then
    echo "install_helper: '$python' has no pip and '$python -m venv' failed; install pip or the venv module (e.g. python3-pip or python3-venv), or use the circle_back job." >&2
    exit 2
  fi
  pip_python="$install_dir/pip-venv/bin/python"
fi

# The pip command line, in the positional parameters (POSIX sh has no arrays).
set -- "$pip_python" -m pip install --quiet --disable-pip-version-check --no-input --no-compile --target "$prefix/lib"
if [ -n "${CB_PARAM_INDEX_URL-}" ]; then set -- "$@" --index-url "$CB_PARAM_INDEX_URL"; fi
if [ "$source_kind" = bundled ]; then
  echo "Installing the cb-helper $version bundled in this orb, with its pinned dependencies"
  # Unpacking the bundled modules (a tenth of a second) overlaps with pip.
  cb_bundle_write "$python" "$prefix/lib" &
  unpacking=$!
  packages="$CB_BUNDLE_REQUIREMENTS"
  if [ "$with_jq" = 1 ] && [ -n "$CB_BUNDLE_JQ" ]; then packages="$packages$nl$CB_BUNDLE_JQ"; fi
  set -- "$@" --no-deps
  count=$#
  saved_ifs="$IFS"
  IFS="$nl"
  set -f
  for package in $packages; do
    set -- "$@" "$package"
  done
  set +f
  IFS="$saved_ifs"
  if [ "$#" -gt "$count" ]; then "$@"; fi
  wait "$unpacking"
else
  [ -n "$requirement" ] || requirement="cb-helper==$version"
  echo "Installing $requirement from a package index"
  "$@" "$requirement"
fi
{
  echo "#!$interpreter -IS"
  echo "import os, sys"
  if [ "$source_kind" = bundled ]; then
    # The bundled version is known: --version answers without importing (and compiling) the command line.
    echo "if sys.argv[1:] == ['--version']:"
    echo "    print('cb-helper $version')"
    echo "    sys.exit(0)"
  fi
  echo 'sys.path[:0] = [os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "lib")]'
  echo "from cb_helper.cli import main"
  echo "sys.exit(main())"
} > "$prefix/bin/cb-helper"
chmod +x "$prefix/bin/cb-helper"

mkdir -p "$install_dir/bin"
ln -sf "$prefix/bin/cb-helper" "$install_dir/bin/cb-helper"
put_on_path
"$install_dir/bin/cb-helper" --version
