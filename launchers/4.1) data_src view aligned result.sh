#!/bin/sh
# 4.1) data_src view aligned result  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio faceset view src "$@"
else
  exec "${PYTHON:-python3}" -m app faceset view src "$@"
fi
