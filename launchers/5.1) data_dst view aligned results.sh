#!/bin/sh
# 5.1) data_dst view aligned results  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio faceset view dst "$@"
else
  exec "${PYTHON:-python3}" -m app faceset view dst "$@"
fi
