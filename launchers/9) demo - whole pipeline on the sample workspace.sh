#!/bin/sh
# 9) demo - whole pipeline on the sample workspace  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio demo "$@"
else
  exec "${PYTHON:-python3}" -m app demo "$@"
fi
