#!/bin/sh
# Release holds whose downstream will not circle back, with cb-helper sweep.
set -e

# Under sh (an image without bash) CircleCI does not read $BASH_ENV, where install_helper put cb-helper
# on PATH: read it here, as bash would have.
if ! command -v cb-helper > /dev/null 2>&1 && [ -f "${BASH_ENV-}" ]; then
  # shellcheck source=/dev/null
  . "$BASH_ENV"
fi

is_true() { [ "$1" = "1" ] || [ "$1" = "true" ]; }

set -- sweep --since "${CB_PARAM_SINCE:-24h}" --grace "${CB_PARAM_GRACE:-10m}" --token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}"
if [ -n "${CB_PARAM_HOST-}" ]; then set -- "$@" --host "$CB_PARAM_HOST"; fi
if is_true "${CB_PARAM_CANCEL_ORPHANS:-1}"; then set -- "$@" --cancel-orphans; fi
if is_true "${CB_PARAM_DRY_RUN:-0}"; then set -- "$@" --dry-run; fi

# Projects are separated by commas and/or white space.
saved_ifs="$IFS"
IFS=", 	
"
set -f
for project in ${CB_PARAM_PROJECTS-}; do
  if [ -n "$project" ]; then set -- "$@" --project "$project"; fi
done
for project in ${CB_PARAM_CANCEL_PROJECTS-}; do
  if [ -n "$project" ]; then set -- "$@" --cancel-project "$project"; fi
done
set +f
IFS="$saved_ifs"

exec cb-helper "$@"
