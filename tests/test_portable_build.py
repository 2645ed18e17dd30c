"""The portable folder works from a fresh place with no Python on PATH (issue 8). Slow: builds.

Each variant is its own test id, so one variant runs alone:
  python -m pytest -m slow tests/test_portable_build.py -k cpu
  python -m pytest -m slow tests/test_portable_build.py -k opencl-sse
  python -m pytest -m slow tests/test_portable_build.py -k cuda-avx   (smoke test only)
Building takes 3-8 minutes a variant on 2 busy cores; the first cpu or opencl-sse build also
compiles dlib without AVX (25 minutes, cached in builds/wheels/); cuda-avx first installs its venv
with the CUDA torch (about 6 GB). The tests of one variant then take 5-8 minutes (README
"Portable builds"). The check without AVX needs qemu-user (Debian: qemu-user-static).
To test a folder built before, set FACESTUDIO_BUILT_<VARIANT>=DIR (e.g. FACESTUDIO_BUILT_CPU,
FACESTUDIO_BUILT_OPENCL_SSE); the folder is copied, never changed.
"""

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

# Variants whose whole demo pipeline runs here (their engines run on this machine's CPU).
DEMO_VARIANTS = ["cpu", "opencl-sse"]
# Variants that can only be smoke-tested here: the CUDA build starts and falls back to the CPU.
# (cuda-sse's torch wheel cannot be fetched here: README "Portable builds".)
SMOKE_VARIANTS = DEMO_VARIANTS + ["cuda-avx"]
VENV_VARIANTS = {"cuda-avx"}  # their torch differs from the one this interpreter has
# Variants whose name promises no AVX, run here on an emulated CPU without it (cuda-sse shares
# their recipe but cannot be built here).
SSE_VARIANTS = ["cpu", "opencl-sse"]
QEMU = shutil.which("qemu-x86_64-static") or shutil.which("qemu-x86_64")
_built: dict[str, Path] = {}


def _build(variant: str) -> Path:
    """The variant's folder: built once per test session, or FACESTUDIO_BUILT_<VARIANT>."""
    if variant not in _built:
        env_name = "FACESTUDIO_BUILT_" + variant.upper().replace("-", "_")
        if os.environ.get(env_name):
            _built[variant] = Path(os.environ[env_name])
        else:
            cmd = [sys.executable, "build.py", "--variant", variant]
            cmd += ["--venv"] if variant in VENV_VARIANTS else []
            subprocess.run(cmd, cwd=REPO, check=True)
            _built[variant] = REPO / "builds" / variant / f"FaceStudio-{variant}"
    return _built[variant]


def _unzip(variant: str, tmp: Path) -> Path:
    """A copy of the folder in a fresh place, with a space in its path (as users have)."""
    fresh = tmp / "unzipped" / f"FaceStudio {variant} copy"
    shutil.copytree(_build(variant), fresh, symlinks=True)
    return fresh


def _bare_env(tmp: Path) -> dict:
    """PATH with only `dirname` in it: no python, no ffmpeg, nothing else from the system."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("dirname",):
        target = shutil.which(tool)
        if target and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(target)
    env = {"PATH": str(bin_dir), "HOME": str(tmp), "LANG": "C.UTF-8"}
    if os.environ.get("FACESTUDIO_THREADS"):   # busy machines (README "Speed")
        env["FACESTUDIO_THREADS"] = os.environ["FACESTUDIO_THREADS"]
    return env


def _launch(folder: Path, name: str, env: dict, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/sh", str(folder / "launchers" / f"{name}.sh"), *extra],
                          env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=3600)


@pytest.mark.parametrize("variant", SMOKE_VARIANTS)
def test_frozen_app_starts_lists_devices_and_extracts_frames(variant, tmp_path):
    """The frozen app alone: help, the device report (on a machine without a GPU: the CPU, said
    plainly), and one real step (frames from the sample video through the bundled ffmpeg)."""
    folder = _unzip(variant, tmp_path)
    env = _bare_env(tmp_path)
    assert shutil.which("python3", path=env["PATH"]) is None
    app = folder / "facestudio" / "facestudio"
    helped = subprocess.run([str(app), "--help"], env=env, capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert "extract" in helped.stdout and "train" in helped.stdout

    devices = _launch(folder, "devices - list GPUs and OpenCL devices", env)
    assert devices.returncode == 0, devices.stderr[-2000:]
    assert "torch engine would use:" in devices.stdout
    if "  none" in devices.stdout.split("CPU:")[0]:   # torch sees no GPU: it says it uses the CPU
        assert "no CUDA/ROCm/XPU/MPS GPU found by torch: CPU" in devices.stdout
    if variant == "opencl-sse":   # PoCL ships inside: an OpenCL CPU device is always there
        assert "opencl engine would use:" in devices.stdout, devices.stdout

    done = _launch(folder, "2) extract images from video data_src", env)
    assert done.returncode == 0, done.stderr[-2000:]
    frames = list((folder / "workspace" / "data_src").glob("*.png")) + \
        list((folder / "workspace" / "data_src").glob("*.jpg"))
    assert len(frames) >= 100, f"{len(frames)} frames"  # the sample has 150


@pytest.mark.parametrize("variant", DEMO_VARIANTS)
def test_launchers_run_the_demo_pipeline_without_python(variant, tmp_path):
    portable = _unzip(variant, tmp_path)
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


def _on_cpu_without_avx(app: Path, args: list[str], env: dict,
                        *qemu_flags: str) -> subprocess.CompletedProcess:
    """Run the frozen app on an emulated Nehalem (SSE4.2, POPCNT; no AVX) with qemu-user. The
    bootloader re-executes itself once (to set LD_LIBRARY_PATH), which would leave the emulator:
    its restarted state is given up front, so the whole run stays emulated."""
    env = dict(env, _PYI_ARCHIVE_FILE=str(app), _PYI_PARENT_PROCESS_LEVEL="-1",
               _PYI_LINUX_PROCESS_NAME=app.name, LD_LIBRARY_PATH=str(app.parent / "_internal"))
    return subprocess.run([QEMU, *qemu_flags, "-cpu", "Nehalem", str(app), *args], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3600)


@pytest.mark.skipif(QEMU is None or platform.machine() != "x86_64",
                    reason="needs qemu-user on x86_64 (Debian: apt install qemu-user-static)")
@pytest.mark.parametrize("variant", SSE_VARIANTS)
def test_sse_variant_runs_without_avx(variant, tmp_path):
    """The name's promise: the device report and face extraction (dlib, OpenCV, numpy, torch's
    import) run on a CPU without AVX. dlib-bin's wheel fails this with SIGILL at import."""
    app = _build(variant) / "facestudio" / "facestudio"
    env = _bare_env(tmp_path)
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy2(app.parent.parent / "workspace" / "data_src.mp4", ws / "data_src.mp4")
    done = subprocess.run([str(app), "--workspace", str(ws), "video", "extract", "src"], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]   # native: the bundled ffmpeg
    frames = sorted((ws / "data_src").glob("*.png"))
    for f in frames[3:]:
        f.unlink()   # three frames: the emulator runs about 20x slower

    traced = _on_cpu_without_avx(app, ["--version"], env, "-strace")
    assert traced.returncode == 0, traced.stderr[-2000:]
    assert "execve(" not in traced.stderr, "the bootloader left the emulator: a native run"
    devices = _on_cpu_without_avx(app, ["devices"], env)
    assert devices.returncode == 0, f"rc {devices.returncode}: {devices.stderr[-2000:]}"
    assert "torch engine would use:" in devices.stdout
    if variant == "opencl-sse":
        assert "opencl engine would use:" in devices.stdout, devices.stdout
    done = _on_cpu_without_avx(app, ["--workspace", str(ws), "extract", "src", "--detector",
                                     "fast", "--workers", "1"], env)
    assert done.returncode == 0, f"rc {done.returncode}: {done.stderr[-2000:]}"
    assert len(list((ws / "data_src" / "aligned").glob("*.jpg"))) == 3
