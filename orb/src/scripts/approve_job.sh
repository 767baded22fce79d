#!/bin/sh
# Circle back: approve the hold the previous step proved, as its receipt says. Without a record there is
# nothing to do here (not triggered, or the legacy ids were handled by the previous step).
set -e

if [ -z "${CB_PARAM_UPSTREAM-}" ]; then
  echo "no circleback record: nothing to approve in this step"
  exit 0
fi
# Under sh (an image without bash) CircleCI does not read $BASH_ENV, where install_helper put cb-helper
# on PATH: read it here, as bash would have.
if ! command -v cb-helper > /dev/null 2>&1 && [ -f "${BASH_ENV-}" ]; then
  # shellcheck source=/dev/null
  . "$BASH_ENV"
fi

receipt="${CB_PARAM_RECEIPT_DIR:-$HOME/.circleback/receipt}"
case "$receipt" in \~ | \~/*) receipt="$HOME${receipt#\~}" ;; esac
receipt="$receipt/receipt.json"
if [ ! -f "$receipt" ]; then
  # The step before removes the receipt and writes it only once the record is proven: it failed, and said why.
  echo "not circling back: the upstream record was not proven (the step before says why)"
  exit 0
fi

set -- approve --from-receipt "$receipt" --token-env "${CB_PARAM_TOKEN:-CIRCLE_TOKEN}"
if [ -n "${CB_PARAM_HOST-}" ]; then set -- "$@" --host "$CB_PARAM_HOST"; fi

exec cb-helper "$@"
