#!/bin/sh
# 7) merge Quick96  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio merge Quick96 "$@"
else
  exec "${PYTHON:-python3}" -m app merge Quick96 "$@"
fi
