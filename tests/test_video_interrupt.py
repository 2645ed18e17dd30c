"""Ctrl-C in the middle of extract or denoise: the frames already there are all kept intact."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.video.ffmpeg import ffmpeg_exe

from app.video.frames import list_frames

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(os.name == "nt", reason="sends SIGINT")


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    """12 s of 640x480 test pattern: long enough to interrupt half way."""
    out = tmp_path_factory.mktemp("long") / "data_dst.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-f",
                    "lavfi", "-i", "testsrc2=size=640x480:rate=25:duration=12", "-c:v", "mpeg4",
                    "-q:v", "5", str(out)], check=True)
    return out


def _interrupt_when(proc, folder: Path, prefix: str, min_files: int = 5) -> None:
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        tmp = [d for d in folder.glob(prefix + "*") if d.is_dir()]
        if tmp and len(list(tmp[0].iterdir())) >= min_files:
            proc.send_signal(signal.SIGINT)
            return
        time.sleep(0.02)
    pytest.fail("the step finished or never started before it could be interrupted")


def _start(ws: Path, *args):
    env = dict(os.environ, FACESTUDIO_ASK="0", FACESTUDIO_WORKSPACE=str(ws))
    return subprocess.Popen([sys.executable, "-m", "app", "video", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in list_frames(folder)}


def test_interrupted_extract_and_denoise_keep_frames(long_video, tmp_path):
    ws = tmp_path
    (ws / "data_dst.mp4").symlink_to(long_video)
    frames = ws / "data_dst"
    first = subprocess.run([sys.executable, "-m", "app", "video", "extract", "dst", "--format",
                            "png"], cwd=REPO, capture_output=True, text=True,
                           env=dict(os.environ, FACESTUDIO_ASK="0",
                                    FACESTUDIO_WORKSPACE=str(ws)))
    assert first.returncode == 0, first.stderr
    before = _snapshot(frames)
    assert len(before) == 300

    proc = _start(ws, "extract", "dst", "--format", "png", "--overwrite")
    _interrupt_when(proc, frames, ".extracting-")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert "start over" in err and "resume" not in err   # nothing to resume: all or nothing
    assert _snapshot(frames) == before
    assert not [p for p in frames.iterdir() if p.name.startswith(".")]

    proc = _start(ws, "denoise", "--factor", "10")
    _interrupt_when(proc, frames, ".denoising-")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err and "start over" in err
    assert _snapshot(frames) == before
    assert not [p for p in frames.iterdir() if p.name.startswith(".")]
