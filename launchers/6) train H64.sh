#!/bin/sh
# 6) train H64  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio train H64 "$@"
else
  exec "${PYTHON:-python3}" -m app train H64 "$@"
fi
