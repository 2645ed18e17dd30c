#!/bin/sh
# 5) data_dst extract faces mt +manual fix  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio extract dst --detector mt --manual-fix "$@"
else
  exec "${PYTHON:-python3}" -m app extract dst --detector mt --manual-fix "$@"
fi
