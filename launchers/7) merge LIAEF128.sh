#!/bin/sh
# 7) merge LIAEF128  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio merge LIAEF128 "$@"
else
  exec "${PYTHON:-python3}" -m app merge LIAEF128 "$@"
fi
