#!/bin/sh
# 3.3) denoise extracted data_dst images  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio video denoise dst "$@"
else
  exec "${PYTHON:-python3}" -m app video denoise dst "$@"
fi
