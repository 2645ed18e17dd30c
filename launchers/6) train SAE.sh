#!/bin/sh
# 6) train SAE  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio train SAE "$@"
else
  exec "${PYTHON:-python3}" -m app train SAE "$@"
fi
