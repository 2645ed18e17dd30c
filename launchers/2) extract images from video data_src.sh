#!/bin/sh
# 2) extract images from video data_src  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio video extract src "$@"
else
  exec "${PYTHON:-python3}" -m app video extract src "$@"
fi
