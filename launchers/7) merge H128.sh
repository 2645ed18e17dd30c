#!/bin/sh
# 7) merge H128  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio merge H128 "$@"
else
  exec "${PYTHON:-python3}" -m app merge H128 "$@"
fi
