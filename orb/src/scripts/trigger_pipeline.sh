#!/bin/sh
# Trigger the downstream pipeline with cb-helper. Parameters arrive as CB_PARAM_* variables; the
# token stays in the variable CB_PARAM_TOKEN names, and only that name reaches the command line.
set -e

# Under sh (an image without bash) CircleCI does not read $BASH_ENV, where install_helper put cb-helper
# on PATH: read it here, as bash would have.
if ! command -v cb-helper > /dev/null 2>&1 && [ -f "${BASH_ENV-}" ]; then
  # shellcheck source=/dev/null
  . "$BASH_ENV"
fi

is_true() { [ "$1" = "1" ] || [ "$1" = "true" ]; }

set -- trigger --project "${CB_PARAM_PROJECT_SLUG-}" --token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}"
if [ -n "${CB_PARAM_HOST-}" ]; then set -- "$@" --host "$CB_PARAM_HOST"; fi
if [ -n "${CB_PARAM_BRANCH-}" ]; then set -- "$@" --branch "$CB_PARAM_BRANCH"; fi
if [ -n "${CB_PARAM_TAG-}" ]; then set -- "$@" --tag "$CB_PARAM_TAG"; fi
if [ -n "${CB_PARAM_DEFINITION_ID-}" ]; then set -- "$@" --definition-id "$CB_PARAM_DEFINITION_ID"; fi
if [ -n "${CB_PARAM_PARAMETERS-}" ]; then set -- "$@" --parameters-json "$CB_PARAM_PARAMETERS"; fi

if [ "${CB_PARAM_HANDOFF:-record}" = record ]; then
  set -- "$@" --upstream-workflow-id "${CIRCLE_WORKFLOW_ID-}" --hold "${CB_PARAM_HOLD_JOB-}"
  set -- "$@" --deadline "${CB_PARAM_DEADLINE:-6h}" --record-parameter "${CB_PARAM_RECORD_PARAMETER:-circleback}"
  set -- "$@" --handoff-file "${CB_PARAM_HANDOFF_FILE:-/tmp/circleback/pipeline-id.handoff.json}"
  if [ -n "${CB_PARAM_UPSTREAM-}" ]; then
    set -- "$@" --upstream "$CB_PARAM_UPSTREAM" --chain-margin "${CB_PARAM_CHAIN_MARGIN:-10m}"
  fi
elif is_true "${CB_PARAM_PASS_IDS:-1}"; then
  if [ -n "${CB_PARAM_PIPELINE_ID_PARAMETER-}" ]; then
    set -- "$@" --parameter "${CB_PARAM_PIPELINE_ID_PARAMETER}=${CB_PIPELINE_ID-}"
  fi
  if [ -n "${CB_PARAM_WORKFLOW_ID_PARAMETER-}" ]; then
    set -- "$@" --parameter "${CB_PARAM_WORKFLOW_ID_PARAMETER}=${CIRCLE_WORKFLOW_ID-}"
  fi
fi

if is_true "${CB_PARAM_VERIFY_START:-1}"; then
  set -- "$@" --verify-start --start-timeout "${CB_PARAM_START_TIMEOUT:-120}"
else
  set -- "$@" --no-verify-start
fi
set -- "$@" --id-file "${CB_PARAM_ID_FILE:-/tmp/circleback/pipeline-id}"

exec cb-helper "$@"
