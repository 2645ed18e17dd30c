#!/bin/sh
# 4.2.5) data_src sort by identity (other people last)  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio faceset sort src --by identity "$@"
else
  exec "${PYTHON:-python3}" -m app faceset sort src --by identity "$@"
fi
