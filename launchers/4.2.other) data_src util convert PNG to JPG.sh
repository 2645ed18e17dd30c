#!/bin/sh
# 4.2.other) data_src util convert PNG to JPG  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio faceset convert src --to jpg "$@"
else
  exec "${PYTHON:-python3}" -m app faceset convert src --to jpg "$@"
fi
