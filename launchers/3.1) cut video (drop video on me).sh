#!/bin/sh
# 3.1) cut video (drop video on me)  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio video cut "$@"
else
  exec "${PYTHON:-python3}" -m app video cut "$@"
fi
