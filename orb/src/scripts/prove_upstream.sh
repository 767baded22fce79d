#!/usr/bin/env bash
# Prove the circleback record and write the receipt the next steps store and approve from. With the
# legacy ids instead of a record, approve here (they cannot be proven, so allowed projects are required).
set -eo pipefail

receipt="${CB_PARAM_RECEIPT_DIR:-$HOME/.circleback/receipt}"
receipt="${receipt/#\~/$HOME}/receipt.json"
rm -f "$receipt" "${receipt%/*}/outputs.json"

read -r -a projects <<< "${CB_PARAM_ALLOWED_PROJECTS//,/ }"
allow=()
for project in "${projects[@]}"; do
  allow+=(--allow-project "$project")
done

common=(--token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}" --hold-timeout "${CB_PARAM_HOLD_TIMEOUT:-300}")
if [ -n "${CB_PARAM_HOST-}" ]; then common+=(--host "$CB_PARAM_HOST"); fi

if [ -z "${CB_PARAM_UPSTREAM-}" ] && { [ -n "${CB_PARAM_WORKFLOW_ID-}" ] || [ -n "${CB_PARAM_PIPELINE_ID-}" ]; }; then
  if [ "${#allow[@]}" -eq 0 ]; then
    echo "cb-helper: error: the legacy upstream ids cannot be proven; set allowed_projects to the upstream project(s)" >&2
    exit 2
  fi
  args=(approve --job-name "${CB_PARAM_JOB_NAME-}" "${common[@]}" "${allow[@]}")
  args+=(--workflow-id "${CB_PARAM_WORKFLOW_ID-}" --pipeline-id "${CB_PARAM_PIPELINE_ID-}")
  if [ -n "${CB_PARAM_WORKFLOW_NAME-}" ]; then args+=(--workflow-name "$CB_PARAM_WORKFLOW_NAME"); fi
  exec cb-helper "${args[@]}"
fi

outputs=()
if [ -n "${CB_PARAM_OUTPUTS-}" ]; then outputs=(--outputs "${CB_PARAM_OUTPUTS/#\~/$HOME}"); fi

exec cb-helper approve --upstream "${CB_PARAM_UPSTREAM-}" --downstream-pipeline-id "${CB_PIPELINE_ID-}" \
  --receipt "$receipt" --prove-only "${common[@]}" "${allow[@]}" "${outputs[@]}"
