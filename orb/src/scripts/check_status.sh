#!/usr/bin/env bash
# Wait for the downstream pipeline to finish and exit with cb-helper's verdict (0 success,
# 1 failed, 4 timed out or past the deadline, 5 canceled or never started).
set -eo pipefail

args=(status --wait --token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}")
if [ -n "${CB_PARAM_HOST-}" ]; then args+=(--host "$CB_PARAM_HOST"); fi
if [ -n "${CB_PARAM_PIPELINE_ID-}" ]; then
  args+=(--pipeline-id "$CB_PARAM_PIPELINE_ID")
elif [ -n "${CB_PARAM_HANDOFF_FILE-}" ] && [ -f "$CB_PARAM_HANDOFF_FILE" ]; then
  args+=(--handoff-file "$CB_PARAM_HANDOFF_FILE")
else
  args+=(--id-file "${CB_PARAM_ID_FILE:-/tmp/circleback/pipeline-id}")
fi
args+=(--timeout "${CB_PARAM_TIMEOUT:-900}" --interval "${CB_PARAM_INTERVAL:-2}")

exec cb-helper "${args[@]}"
