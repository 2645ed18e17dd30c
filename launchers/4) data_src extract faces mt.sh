#!/bin/sh
# 4) data_src extract faces mt  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio extract src --detector mt "$@"
else
  exec "${PYTHON:-python3}" -m app extract src --detector mt "$@"
fi
