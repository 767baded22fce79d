#!/usr/bin/env bash
# Circle back: approve the hold the previous step proved, as its receipt says. Without a record there is
# nothing to do here (not triggered, or the legacy ids were handled by the previous step).
set -eo pipefail

if [ -z "${CB_PARAM_UPSTREAM-}" ]; then
  echo "no circleback record: nothing to approve in this step"
  exit 0
fi
receipt="${CB_PARAM_RECEIPT_DIR:-$HOME/.circleback/receipt}"
receipt="${receipt/#\~/$HOME}/receipt.json"
if [ ! -f "$receipt" ]; then
  # The step before removes the receipt and writes it only once the record is proven: it failed, and said why.
  echo "not circling back: the upstream record was not proven (the step before says why)"
  exit 0
fi

args=(approve --from-receipt "$receipt" --token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}")
if [ -n "${CB_PARAM_HOST-}" ]; then args+=(--host "$CB_PARAM_HOST"); fi

exec cb-helper "${args[@]}"
