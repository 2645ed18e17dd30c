#!/bin/sh
# 6) train LIAEF128  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio train LIAEF128 "$@"
else
  exec "${PYTHON:-python3}" -m app train LIAEF128 "$@"
fi
