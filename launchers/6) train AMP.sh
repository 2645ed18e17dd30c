#!/bin/sh
# 6) train AMP  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio train AMP "$@"
else
  exec "${PYTHON:-python3}" -m app train AMP "$@"
fi
