#!/bin/sh
# Prove the circleback record and write the receipt the next steps store and approve from. With the
# legacy ids instead of a record, approve here (they cannot be proven, so allowed projects are required).
set -e

# Under sh (an image without bash) CircleCI does not read $BASH_ENV, where install_helper put cb-helper
# on PATH: read it here, as bash would have.
if ! command -v cb-helper > /dev/null 2>&1 && [ -f "${BASH_ENV-}" ]; then
  # shellcheck source=/dev/null
  . "$BASH_ENV"
fi

# A leading ~ means $HOME (CircleCI does not expand it in parameters).
home_path() {
  case "$1" in
    \~ | \~/*) printf '%s\n' "$HOME${1#\~}" ;;
    *) printf '%s\n' "$1" ;;
  esac
}

receipt="$(home_path "${CB_PARAM_RECEIPT_DIR:-$HOME/.circleback/receipt}")/receipt.json"
rm -f "$receipt" "${receipt%/*}/outputs.json"

# The common options, then --allow-project for each allowed project (separated by commas and/or
# white space), in the positional parameters (POSIX sh has no arrays).
set -- --token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}" --hold-timeout "${CB_PARAM_HOLD_TIMEOUT:-300}"
if [ -n "${CB_PARAM_HOST-}" ]; then set -- "$@" --host "$CB_PARAM_HOST"; fi
allowed=0
saved_ifs="$IFS"
IFS=", 	
"
set -f
for project in ${CB_PARAM_ALLOWED_PROJECTS-}; do
  if [ -n "$project" ]; then
    set -- "$@" --allow-project "$project"
    allowed=$((allowed + 1))
  fi
done
set +f
IFS="$saved_ifs"

if [ -z "${CB_PARAM_UPSTREAM-}" ] && { [ -n "${CB_PARAM_WORKFLOW_ID-}" ] || [ -n "${CB_PARAM_PIPELINE_ID-}" ]; }; then
  if [ "$allowed" -eq 0 ]; then
    echo "cb-helper: error: the legacy upstream ids cannot be proven; set allowed_projects to the upstream project(s)" >&2
    exit 2
  fi
  set -- approve --job-name "${CB_PARAM_JOB_NAME-}" "$@"
  set -- "$@" --workflow-id "${CB_PARAM_WORKFLOW_ID-}" --pipeline-id "${CB_PARAM_PIPELINE_ID-}"
  if [ -n "${CB_PARAM_WORKFLOW_NAME-}" ]; then set -- "$@" --workflow-name "$CB_PARAM_WORKFLOW_NAME"; fi
  exec cb-helper "$@"
fi

if [ -n "${CB_PARAM_OUTPUTS-}" ]; then set -- "$@" --outputs "$(home_path "$CB_PARAM_OUTPUTS")"; fi

exec cb-helper approve --upstream "${CB_PARAM_UPSTREAM-}" --downstream-pipeline-id "${CB_PIPELINE_ID-}" \
  --receipt "$receipt" --prove-only "$@"
