#!/bin/sh
# 5.5) train mask network (FAN mask modes)  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio mask train "$@"
else
  exec "${PYTHON:-python3}" -m app mask train "$@"
fi
