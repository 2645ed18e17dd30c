#!/bin/sh
# 6) train Quick96  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio train Quick96 "$@"
else
  exec "${PYTHON:-python3}" -m app train Quick96 "$@"
fi
