#!/bin/sh
# 5.4) data_dst mask editor  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio mask edit dst "$@"
else
  exec "${PYTHON:-python3}" -m app mask edit dst "$@"
fi
