#!/bin/sh
# 4.2.other) data_src util recover original filename  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio faceset recover-names src "$@"
else
  exec "${PYTHON:-python3}" -m app faceset recover-names src "$@"
fi
