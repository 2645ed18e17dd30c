#!/bin/sh
# 5) data_dst extract faces manual fix deleted aligned_debug  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio extract dst --manual-fix-deleted-debug "$@"
else
  exec "${PYTHON:-python3}" -m app extract dst --manual-fix-deleted-debug "$@"
fi
