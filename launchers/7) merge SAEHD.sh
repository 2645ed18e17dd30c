#!/bin/sh
# 7) merge SAEHD  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio merge SAEHD "$@"
else
  exec "${PYTHON:-python3}" -m app merge SAEHD "$@"
fi
