#!/bin/sh
# Wait for the downstream pipeline to finish and exit with cb-helper's verdict (0 success,
# 1 failed, 4 timed out or past the deadline, 5 canceled or never started). Write what it sent
# back (outputs, failing tests as JUnit XML) and export its outputs to the job's later steps.
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

set -- status --wait --token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}"
if [ -n "${CB_PARAM_HOST-}" ]; then set -- "$@" --host "$CB_PARAM_HOST"; fi
if [ -n "${CB_PARAM_PIPELINE_ID-}" ]; then
  set -- "$@" --pipeline-id "$CB_PARAM_PIPELINE_ID"
elif [ -n "${CB_PARAM_HANDOFF_FILE-}" ] && [ -f "$CB_PARAM_HANDOFF_FILE" ]; then
  set -- "$@" --handoff-file "$CB_PARAM_HANDOFF_FILE"
else
  set -- "$@" --id-file "${CB_PARAM_ID_FILE:-/tmp/circleback/pipeline-id}"
fi
set -- "$@" --timeout "${CB_PARAM_TIMEOUT:-900}" --interval "${CB_PARAM_INTERVAL:-2}"

outputs="$(home_path "${CB_PARAM_OUTPUTS_DIR-}")"
if [ -n "$outputs" ]; then
  set -- "$@" --outputs-dir "$outputs" --env-prefix "${CB_PARAM_ENV_PREFIX-}"
fi
results="$(home_path "${CB_PARAM_TEST_RESULTS_DIR-}")"
if [ -n "$results" ]; then
  mkdir -p "$results"
  rm -f "$results/downstream-tests.xml"
  set -- "$@" --junit "$results/downstream-tests.xml"
fi
report="$(home_path "${CB_PARAM_REPORT_DIR-}")"
if [ -n "$report" ]; then set -- "$@" --html "$report/report.html"; fi

status=0
cb-helper "$@" || status=$?

if [ -n "$outputs" ] && [ -s "$outputs/outputs.env" ] && [ -n "${BASH_ENV-}" ]; then
  sed 's/^/export /' "$outputs/outputs.env" >> "$BASH_ENV"
  names=""
  while IFS='=' read -r name _; do
    names="${names:+$names }$name"
  done < "$outputs/outputs.env"
  echo "exported to later steps: $names"
fi
exit "$status"
