#!/bin/sh
# 8) merged to mov lossless with alpha  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio video assemble --format mov_alpha "$@"
else
  exec "${PYTHON:-python3}" -m app video assemble --format mov_alpha "$@"
fi
