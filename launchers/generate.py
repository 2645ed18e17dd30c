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

# No parenthesised if/else blocks: inside one, cmd.exe ends the block at the first ")" of an
# expanded path ("C:\\Program Files (x86)\\...", a dropped "clip (1).mp4"); gotos instead.
# The app's exit code is kept through the pause, so scripts and CI can check it.
BAT = """@echo off
rem {name}  (generated from launchers/steps.toml; do not edit)
setlocal
cd /d "%~dp0.." || exit /b 1
if not exist "facestudio\\facestudio.exe" goto python
"facestudio\\facestudio.exe" {args} %*
goto done
:python
python -m app {args} %*
:done
set "FACESTUDIO_RC=%ERRORLEVEL%"
if "%FACESTUDIO_NOPAUSE%"=="" pause
exit /b %FACESTUDIO_RC%
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


TEMPLATES = {".sh": SH, ".bat": BAT}


def generate(out_dir: Path = HERE, exts: tuple[str, ...] = (".sh", ".bat")) -> list[Path]:
    """Write one launcher per step and extension in `exts`; returns the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for step in load_steps():
        for ext, template in ((e, TEMPLATES[e]) for e in exts):
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
