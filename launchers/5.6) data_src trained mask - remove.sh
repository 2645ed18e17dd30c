#!/bin/sh
# 5.6) data_src trained mask - remove  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio mask remove src "$@"
else
  exec "${PYTHON:-python3}" -m app mask remove src "$@"
fi
