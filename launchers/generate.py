"""Write the step launchers (.sh and .bat) from launchers/steps.toml, DeepFaceLab-style.

Each launcher runs from the folder above `launchers/` (the repo or the unzipped portable folder):
it uses the frozen app `facestudio/facestudio[.exe]` when present, otherwise `python -m app`.
Run: `python launchers/generate.py [OUT_DIR]`.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: the app package sits beside launchers/
    sys.path.insert(0, str(HERE.parent))

SH = """#!/bin/sh
# {name}  (generated from launchers/steps.toml; do not edit)
cd "$(dirname "$0")/.." || exit 1
if [ -x ./facestudio/facestudio ]; then
  exec ./facestudio/facestudio {args} "$@"
else
  exec "${{PYTHON:-python3}}" -m app {args} "$@"
fi
"""

BAT = """@echo off
rem {name}  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\\facestudio.exe" (
  "facestudio\\facestudio.exe" {args} %*
) else (
  python -m app {args} %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
"""


def _names(kind: str) -> tuple[str, ...]:
    """The registry's names for an `each` step (models and detectors are found from files)."""
    if kind == "model":
        from app.models import model_names
        return model_names()
    if kind == "detector":
        from app.extract import detector_names
        return detector_names()
    raise ValueError(f"steps.toml: unknown each = {kind!r} (model or detector)")


def load_steps(table: Path = HERE / "steps.toml") -> list[dict]:
    """The launchers' steps, an `each` step expanded into one step per name."""
    with open(table, "rb") as fh:
        steps = tomllib.load(fh)["step"]
    out = []
    for step in steps:
        if "each" not in step:
            out.append(step)
            continue
        for name in _names(step["each"]):
            out.append({k: v.format(name=name) for k, v in step.items() if k != "each"})
    return out


def generate(out_dir: Path = HERE) -> list[Path]:
    """Write one .sh and one .bat per step; returns the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for step in load_steps():
        for ext, template in ((".sh", SH), (".bat", BAT)):
            path = out_dir / f"{step['name']}{ext}"
            text = template.format(name=step["name"], args=step["args"])
            newline = "\r\n" if ext == ".bat" else "\n"
            path.write_bytes(text.replace("\n", newline).encode("utf-8"))
            if ext == ".sh":
                path.chmod(0o755)
            written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    paths = generate(target)
    print(f"wrote {len(paths)} launchers to {target}")
