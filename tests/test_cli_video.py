"""The CLI as a user runs it: help everywhere, light start-up, video steps, clear errors."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.main import COMMANDS

REPO = Path(__file__).resolve().parent.parent
MEDIA = Path(__file__).parent / "media"
HEAVY = ("torch", "cv2", "dlib", "tinygrad", "pyopencl")


def app(*args, workspace=None, ask=False, stdin=None, extra_env=None):
    env = dict(os.environ, FACESTUDIO_ASK="1" if ask else "0")
    if workspace is not None:
        env["FACESTUDIO_WORKSPACE"] = str(workspace)
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, env=env,
                          input=stdin or "", capture_output=True, text=True, timeout=120)


def assert_user_error(proc, names):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert str(names) in errors[0]
    return errors[0]


@pytest.fixture
def ws(tmp_path) -> Path:
    shutil.copy(MEDIA / "grid_m1.mpg", tmp_path / "data_dst.mpg")
    shutil.copy(MEDIA / "codecs" / "h264_aac.mp4", tmp_path / "data_src.mp4")
    return tmp_path


def test_help_for_every_command():
    top = app("--help")
    assert top.returncode == 0
    for name in COMMANDS:
        assert name in top.stdout
        proc = app(name, "--help")
        assert proc.returncode == 0 and "usage:" in proc.stdout, (name, proc.stderr)
    for action in ("extract", "cut", "denoise", "assemble", "info"):
        proc = app("video", action, "--help")
        assert proc.returncode == 0 and "--ffmpeg" in proc.stdout
    assert app("workspace", "clear", "--help").returncode == 0


@pytest.mark.parametrize("argv", [["--help"], ["video", "extract", "--help"],
                                  ["workspace", "clear", "--help"]])
def test_start_up_imports_nothing_heavy(argv):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "app", *argv], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    modules = {line.rsplit("|", 1)[-1].strip().split(".")[0]
               for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "app" in modules
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_extract_src_asks_fps_and_format(ws):
    proc = app("video", "extract", "src", workspace=ws, ask=True, stdin="?\n10\njpg\n")
    assert proc.returncode == 0, proc.stderr
    assert "Enter FPS ( ?:help skip:fullfps )" in proc.stdout
    assert "How many frames per second" in proc.stdout  # the ? help
    frames = sorted((ws / "data_src").glob("*.jpg"))
    assert 9 <= len(frames) <= 11 and frames[0].name == "00001.jpg"


def test_extract_dst_is_full_fps_and_again_asks_before_replacing(ws):
    assert app("video", "extract", "dst", "--format", "png", workspace=ws).returncode == 0
    frames = ws / "data_dst"
    before = {p.name: p.stat().st_mtime_ns for p in frames.glob("*.png")}
    assert len(before) == 75
    (frames / "aligned").mkdir(exist_ok=True)
    (frames / "aligned" / "00001_0.jpg").write_bytes(b"face")
    # no terminal and no --overwrite: refuse, change nothing
    assert_user_error(app("video", "extract", "dst", "--format", "jpg", workspace=ws), frames)
    # asked, answered no
    proc = app("video", "extract", "dst", "--format", "jpg", workspace=ws, ask=True,
               stdin="n\n")
    assert proc.returncode == 1 and "Replace them?" in proc.stdout
    assert {p.name: p.stat().st_mtime_ns for p in frames.glob("*.png")} == before
    assert not list(frames.glob("*.jpg"))
    # --fps is refused for dst
    assert_user_error(app("video", "extract", "dst", "--fps", "5", workspace=ws), "full FPS")
    assert app("video", "extract", "dst", "--format", "jpg", "--overwrite",
               workspace=ws).returncode == 0
    assert len(list(frames.glob("*.jpg"))) == 75 and not list(frames.glob("*.png"))
    assert (frames / "aligned" / "00001_0.jpg").read_bytes() == b"face"


def test_bad_videos_exit_2_with_one_message_and_keep_frames(ws):
    assert app("video", "extract", "dst", "--format", "jpg", workspace=ws).returncode == 0
    frames = ws / "data_dst"
    before = {p.name: p.read_bytes() for p in frames.glob("*.jpg")}
    fake = ws / "fake.mp4"
    fake.write_text("hello, I am a text file\n")
    line = assert_user_error(app("video", "extract", "dst", "--overwrite", "--input", str(fake),
                                 workspace=ws), fake)
    assert "not a video" in line
    missing = ws / "gone.mp4"
    assert_user_error(app("video", "extract", "dst", "--overwrite", "--input", str(missing),
                          workspace=ws), missing)
    assert {p.name: p.read_bytes() for p in frames.glob("*.jpg")} == before
    # no src video in the workspace
    (ws / "data_src.mp4").unlink()
    assert "no data_src video" in assert_user_error(app("video", "extract", "src",
                                                         workspace=ws), ws)
    # a system ffmpeg that is not there
    assert_user_error(app("video", "info", str(ws / "data_dst.mpg"), "--ffmpeg",
                          str(ws / "nope"), workspace=ws), ws / "nope")


def test_cut_via_cli(ws):
    line = assert_user_error(app("video", "cut", str(ws / "data_dst.mpg"), "--from",
                                 "00:00:01.000", "--to", "00:00:09.000", workspace=ws),
                             ws / "data_dst.mpg")
    assert "outside the video" in line
    assert_user_error(app("video", "cut", "--from", "1 second", workspace=ws), "--from")
    proc = app("video", "cut", "--from", "00:00:00.400", "--to", "00:00:01.200", "--bitrate",
               "10", workspace=ws)
    assert proc.returncode == 0, proc.stderr
    from app.video.ffmpeg import count_frames
    assert abs(count_frames(ws / "data_dst_cut.mpg") - 20) <= 1
    assert (ws / "data_dst.mpg").stat().st_size == (MEDIA / "grid_m1.mpg").stat().st_size


def test_denoise_and_assemble_via_cli(ws):
    assert_user_error(app("video", "denoise", "--factor", "5", workspace=ws), ws / "data_dst")
    assert_user_error(app("video", "assemble", "--format", "mp4", workspace=ws),
                      ws / "data_dst" / "merged")
    assert app("video", "extract", "dst", "--format", "png", workspace=ws).returncode == 0
    proc = app("video", "denoise", workspace=ws, ask=True, stdin="30\n3\n")
    assert proc.returncode == 0 and "out of range" in proc.stdout
    merged = ws / "data_dst" / "merged"
    merged.mkdir()
    for p in sorted((ws / "data_dst").glob("*.png"))[:50]:
        shutil.copy(p, merged / p.name)
    proc = app("video", "assemble", workspace=ws, ask=True, stdin="2\n8\n")  # avi, 8 MB/s
    assert proc.returncode == 0, proc.stderr
    from app import ALTERED_MEDIA_LABEL
    from app.video.ffmpeg import count_frames, probe
    info = probe(ws / "result.avi")
    assert info.fps == 25 and count_frames(ws / "result.avi") == 50
    assert info.audio_streams and info.tags["comment"] == ALTERED_MEDIA_LABEL
    info_out = app("video", "info", str(ws / "result.avi"), workspace=ws)
    assert ALTERED_MEDIA_LABEL in info_out.stdout
