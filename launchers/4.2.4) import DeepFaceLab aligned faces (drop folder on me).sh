#!/bin/sh
# 4.2.4) import DeepFaceLab aligned faces (drop folder on me)  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio faceset import-dfl "$@"
else
  exec "${PYTHON:-python3}" -m app faceset import-dfl "$@"
fi
