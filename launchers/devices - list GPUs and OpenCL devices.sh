#!/bin/sh
# devices - list GPUs and OpenCL devices  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio devices "$@"
else
  exec "${PYTHON:-python3}" -m app devices "$@"
fi
