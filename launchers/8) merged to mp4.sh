#!/bin/sh
# 8) merged to mp4  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio video assemble --format mp4 "$@"
else
  exec "${PYTHON:-python3}" -m app video assemble --format mp4 "$@"
fi
