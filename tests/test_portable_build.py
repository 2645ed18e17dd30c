"""The portable folder works from a fresh place with no Python on PATH (issue 8). Slow: builds.

Run: python -m pytest -m slow tests/test_portable_build.py  (about 5 minutes to build, then the
demo pipeline through the launchers). Set FACESTUDIO_BUILT=DIR to test an existing folder.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def portable(tmp_path_factory) -> Path:
    built = os.environ.get("FACESTUDIO_BUILT")
    if not built:
        subprocess.run([sys.executable, "build.py", "--variant", "opencl-sse"], cwd=REPO,
                       check=True)
        built = REPO / "builds" / "opencl-sse" / "FaceStudio-opencl-sse"
    fresh = tmp_path_factory.mktemp("unzipped") / "FaceStudio copy"
    shutil.copytree(built, fresh, symlinks=True)
    return fresh


def _bare_env(tmp: Path) -> dict:
    """PATH with only `dirname` in it: no python, no ffmpeg, nothing else from the system."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("dirname",):
        target = shutil.which(tool)
        if target and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(target)
    return {"PATH": str(bin_dir), "HOME": str(tmp), "LANG": "C.UTF-8"}


def _launch(folder: Path, name: str, env: dict, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/sh", str(folder / "launchers" / f"{name}.sh"), *extra],
                          env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=3600)


def test_launchers_run_the_demo_pipeline_without_python(portable, tmp_path):
    env = _bare_env(tmp_path)
    assert shutil.which("python3", path=env["PATH"]) is None
    steps = ["2) extract images from video data_src",
             "3.2) extract images from video data_dst FULL FPS",
             "4) data_src extract faces fast",
             "5) data_dst extract faces fast"]
    for step in steps:
        done = _launch(portable, step, env)
        assert done.returncode == 0, f"{step}: {done.stderr[-2000:]}"
    done = _launch(portable, "9) demo - whole pipeline on the sample workspace", env,
                   "--minutes", os.environ.get("FACESTUDIO_DEMO_MINUTES", "3"))
    assert done.returncode == 0, done.stderr[-2000:]
    result = portable / "workspace" / "result.mp4"
    assert result.is_file() and result.stat().st_size > 10_000
    aligned = list((portable / "workspace" / "data_dst" / "aligned").glob("*.jpg"))
    assert len(aligned) >= 70
