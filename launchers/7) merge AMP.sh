#!/bin/sh
# 7) merge AMP  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio merge AMP "$@"
else
  exec "${PYTHON:-python3}" -m app merge AMP "$@"
fi
