#!/usr/bin/env bash
# Circle back: approve the upstream approval job with cb-helper. With no upstream ids (this pipeline
# was not triggered by an upstream), cb-helper says so and succeeds.
set -eo pipefail

args=(approve --if-triggered --job-name "${CB_PARAM_JOB_NAME-}" --token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}")
args+=(--workflow-id "${CB_PARAM_WORKFLOW_ID-}" --pipeline-id "${CB_PARAM_PIPELINE_ID-}")
if [ -n "${CB_PARAM_HOST-}" ]; then args+=(--host "$CB_PARAM_HOST"); fi
if [ -n "${CB_PARAM_WORKFLOW_NAME-}" ]; then args+=(--workflow-name "$CB_PARAM_WORKFLOW_NAME"); fi

read -r -a projects <<< "${CB_PARAM_ALLOWED_PROJECTS//,/ }"
for project in "${projects[@]}"; do
  args+=(--allow-project "$project")
done

exec cb-helper "${args[@]}"
