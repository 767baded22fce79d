#!/usr/bin/env bash
# Release holds whose downstream will not circle back, with cb-helper sweep.
set -eo pipefail

is_true() { [ "$1" = "1" ] || [ "$1" = "true" ]; }

args=(sweep --since "${CB_PARAM_SINCE:-24h}" --grace "${CB_PARAM_GRACE:-10m}" --token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}")
if [ -n "${CB_PARAM_HOST-}" ]; then args+=(--host "$CB_PARAM_HOST"); fi
if is_true "${CB_PARAM_CANCEL_ORPHANS:-1}"; then args+=(--cancel-orphans); fi
if is_true "${CB_PARAM_DRY_RUN:-0}"; then args+=(--dry-run); fi

read -r -a projects <<< "${CB_PARAM_PROJECTS//,/ }"
for project in "${projects[@]}"; do
  args+=(--project "$project")
done

read -r -a cancel_projects <<< "${CB_PARAM_CANCEL_PROJECTS//,/ }"
for project in "${cancel_projects[@]}"; do
  args+=(--cancel-project "$project")
done

exec cb-helper "${args[@]}"
