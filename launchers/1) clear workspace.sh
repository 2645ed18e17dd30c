#!/bin/sh
# 1) clear workspace  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio workspace clear "$@"
else
  exec "${PYTHON:-python3}" -m app workspace clear "$@"
fi
