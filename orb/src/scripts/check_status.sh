#!/usr/bin/env bash
# Wait for the downstream pipeline to finish and exit with cb-helper's verdict (0 success,
# 1 failed, 4 timed out or past the deadline, 5 canceled or never started). Write what it sent
# back (outputs, failing tests as JUnit XML) and export its outputs to the job's later steps.
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

outputs="${CB_PARAM_OUTPUTS_DIR-}"
outputs="${outputs/#\~/$HOME}"
if [ -n "$outputs" ]; then
  args+=(--outputs-dir "$outputs" --env-prefix "${CB_PARAM_ENV_PREFIX-}")
fi
results="${CB_PARAM_TEST_RESULTS_DIR-}"
results="${results/#\~/$HOME}"
if [ -n "$results" ]; then
  mkdir -p "$results"
  rm -f "$results/downstream-tests.xml"
  args+=(--junit "$results/downstream-tests.xml")
fi
report="${CB_PARAM_REPORT_DIR-}"
report="${report/#\~/$HOME}"
if [ -n "$report" ]; then args+=(--html "$report/report.html"); fi

status=0
cb-helper "${args[@]}" || status=$?

if [ -n "$outputs" ] && [ -s "$outputs/outputs.env" ] && [ -n "${BASH_ENV-}" ]; then
  sed 's/^/export /' "$outputs/outputs.env" >> "$BASH_ENV"
  echo "exported to later steps: $(cut -d= -f1 "$outputs/outputs.env" | paste -sd' ' -)"
fi
exit "$status"
