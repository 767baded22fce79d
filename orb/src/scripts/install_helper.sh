#!/usr/bin/env bash
# Install cb-helper. The packer puts a generated preamble in front of this script (as
# scripts/helper_bundle.sh) that sets CB_BUNDLE_VERSION and CB_BUNDLE_REQUIREMENTS and defines
# cb_bundle_write DIR, which writes the helper's bundled sources into DIR.
set -eo pipefail

version="${CB_BUNDLE_VERSION:?this script needs the preamble the orb packer generates}"
source_kind="${CB_PARAM_SOURCE:-bundled}"
requirement="${CB_PARAM_PIP_REQUIREMENT-}"
install_dir="${CB_PARAM_INSTALL_DIR:-$HOME/.cb-helper}"

case "$source_kind" in
  bundled | index) ;;
  *)
    echo "install_helper: source '$source_kind' is not one of: bundled, index" >&2
    exit 2
    ;;
esac

if [ "$source_kind" = bundled ] || [ -z "$requirement" ]; then
  if command -v cb-helper > /dev/null 2>&1 && [ "$(cb-helper --version 2> /dev/null)" = "cb-helper $version" ]; then
    echo "cb-helper $version is already installed ($(command -v cb-helper)); nothing to do."
    exit 0
  fi
fi

python=""
for candidate in python3 python; do
  if command -v "$candidate" > /dev/null 2>&1 &&
    "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2> /dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "install_helper: cb-helper needs python3 3.9 or newer, and this image has none." >&2
  echo "Use the circle_back job (it runs on its own Python image) instead of the approve_job command," >&2
  echo "or run this step on an image with Python." >&2
  exit 2
fi

venv="$install_dir/venv-$version"
if ! "$python" -m venv --clear "$venv" > /dev/null; then
  echo "install_helper: '$python -m venv' failed; install the venv module (e.g. python3-venv) or use the circle_back job." >&2
  exit 2
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input)
if [ -n "${CB_PARAM_INDEX_URL-}" ]; then pip+=(--index-url "$CB_PARAM_INDEX_URL"); fi

if [ "$source_kind" = bundled ]; then
  echo "Installing the cb-helper $version bundled in this orb, with its pinned dependencies"
  if [ "${#CB_BUNDLE_REQUIREMENTS[@]}" -gt 0 ]; then "${pip[@]}" "${CB_BUNDLE_REQUIREMENTS[@]}"; fi
  site_packages="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  cb_bundle_write "$site_packages"
  printf '#!%s\nimport sys\nfrom cb_helper.cli import main\nsys.exit(main())\n' "$venv/bin/python" > "$venv/bin/cb-helper"
  chmod +x "$venv/bin/cb-helper"
else
  [ -n "$requirement" ] || requirement="cb-helper==$version"
  echo "Installing $requirement from a package index"
  "${pip[@]}" "$requirement"
fi

mkdir -p "$install_dir/bin"
ln -sf "$venv/bin/cb-helper" "$install_dir/bin/cb-helper"
if [ -n "${BASH_ENV-}" ]; then
  echo "export PATH=\"$install_dir/bin:\$PATH\"" >> "$BASH_ENV"
fi
"$install_dir/bin/cb-helper" --version
