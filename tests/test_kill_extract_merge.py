"""SIGKILL face extraction and merge mid-run; the rerun must finish with exactly the files an
uninterrupted run writes: no duplicate, none missing, none half-written, same bytes.

Each step runs as `python -m app ...` in its own session and the whole process group is killed
(as closing the terminal or a power cut would), at a random moment once some output exists.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_fault_helpers import MEDIA, REPO

FAST = ["--detector", "fast", "--face-type", "full", "--size", "128", "--workers", "2"]


def start_app(*argv, workspace: Path) -> subprocess.Popen:
    env = dict(os.environ, FACESTUDIO_ASK="0")
    return subprocess.Popen([sys.executable, "-m", "app", "--workspace", str(workspace),
                             *map(str, argv)], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def kill_when(proc: subprocess.Popen, folder: Path, pattern: str, at_least: int,
              rng: random.Random) -> int:
    """SIGKILL the process group once `folder` holds `at_least` files, after a random delay."""
    deadline = time.monotonic() + 300
    while len(list(folder.glob(pattern))) < at_least:
        assert proc.poll() is None, "finished before it could be killed: " + proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 0.2))  # short: an idle machine merges ~30 frames/s
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return len(list(folder.glob(pattern)))


def files(folder: Path) -> dict[str, bytes]:
    """The files of `folder` by name; fails on a temporary file left behind by a killed run."""
    names = [p.name for p in folder.iterdir() if p.is_file()]
    assert not [n for n in names if ".tmp" in n], f"temporary files left in {folder}"
    return {n: (folder / n).read_bytes() for n in sorted(names) if not n.startswith(".")}


def same_face(a: bytes, b: bytes, where: Path) -> bool:
    """Same source frame and nearly the same box. Not byte-equal: the detector searches a frame
    at the scale suggested by the previous frame of its run, and a resumed run starts its runs
    elsewhere, so boxes may move by a few pixels."""
    from app.faceset.face_file import read_meta
    (where / "a.jpg").write_bytes(a)
    (where / "b.jpg").write_bytes(b)
    ma, mb = read_meta(where / "a.jpg"), read_meta(where / "b.jpg")
    width = ma.source_rect[2] - ma.source_rect[0]
    return ma.source_filename == mb.source_filename and all(
        abs(x - y) < 0.25 * width for x, y in zip(ma.source_rect, mb.source_rect))


@pytest.fixture(scope="module")
def src_frames(tmp_path_factory) -> Path:
    from app.video.frames import extract_frames
    out = tmp_path_factory.mktemp("frames") / "data_src"
    n = extract_frames(MEDIA / "grid_m1.mpg", out, ext="png", progress=False)
    assert n >= 60
    return out


def workspace_with(tmp: Path, frames: Path, name: str) -> Path:
    ws = tmp / name
    shutil.copytree(frames, ws / "data_src")
    return ws


def test_killed_face_extraction_resumes_without_duplicates_or_gaps(tmp_path, src_frames):
    rng = random.Random(7)
    whole = workspace_with(tmp_path, src_frames, "whole")
    finish(start_app("extract", "src", *FAST, "--debug", workspace=whole))
    expected = files(whole / "data_src" / "aligned")
    assert len(expected) >= 60 and not any(n.startswith(".") for n in expected)

    ws = workspace_with(tmp_path, src_frames, "killed")
    aligned = ws / "data_src" / "aligned"
    for round_ in range(2):  # killed twice, at different points
        proc = start_app("extract", "src", *FAST, "--debug", workspace=ws)
        done = kill_when(proc, aligned, "*.jpg", 8 + 12 * round_, rng)  # early: ~100 faces/s
        assert proc.returncode == -signal.SIGKILL and done < len(expected)
    finish(start_app("extract", "src", *FAST, "--debug", workspace=ws))
    got = files(aligned)
    assert sorted(got) == sorted(expected)          # no duplicate, none missing, no temp file
    assert all(same_face(got[n], expected[n], tmp_path) for n in got)   # complete faces
    assert sorted(files(ws / "data_src" / "aligned_debug")) == \
        sorted(files(whole / "data_src" / "aligned_debug"))


def merge_workspace(tmp: Path, name: str, copies: int) -> Path:
    """The 8 test dst frames (with their aligned faces) repeated `copies` times: 8*copies frames,
    each face's metadata pointing at its own frame."""
    from app.faceset.face_file import read_meta, update_meta
    src = MEDIA / "merge" / "dst"
    ws = tmp / name
    aligned = ws / "data_dst" / "aligned"
    aligned.mkdir(parents=True)
    for c in range(copies):
        for frame in sorted(src.glob("*.jpg")):
            new = f"{int(frame.stem) + 8 * c:05d}"
            shutil.copy(frame, ws / "data_dst" / f"{new}.jpg")
            for face in sorted((src / "aligned").glob(f"{frame.stem}_*.jpg")):
                target = aligned / face.name.replace(frame.stem, new, 1)
                shutil.copy(face, target)
                meta = read_meta(target)
                meta.source_filename = f"{new}.jpg"
                update_meta(target, meta)
    return ws


def test_killed_merge_resumes_without_duplicates_or_gaps(tmp_path):
    rng = random.Random(11)
    args = ["merge", "--test-predictor", "--mode", "seamless", "--workers", "2"]
    whole = merge_workspace(tmp_path, "whole", 8)
    finish(start_app(*args, workspace=whole))
    expected = files(whole / "data_dst" / "merged")
    assert len(expected) == 64

    ws = merge_workspace(tmp_path, "killed", 8)
    merged = ws / "data_dst" / "merged"
    for round_ in range(2):
        proc = start_app(*args, workspace=ws)
        done = kill_when(proc, merged, "*.jpg", 5 + 20 * round_, rng)
        assert proc.returncode == -signal.SIGKILL and done < 64
    finish(start_app(*args, workspace=ws))
    got = files(merged)
    assert sorted(got) == sorted(expected)
    assert got == expected


FFMPEG_PARENT = """
from app.video.ffmpeg import run_ffmpeg
run_ffmpeg(["-f", "lavfi", "-i", "testsrc=duration=600:size=320x240", "-f", "null", "-"],
           blame="test", progress=False)
"""


def test_ffmpeg_dies_with_the_app(tmp_path):
    """SIGKILL the app while ffmpeg encodes: ffmpeg must not live on writing a temporary file
    nobody would ever rename. (Here a broken progress pipe stops it too; the next test shows
    the kernel's parent-death signal, which does not wait for ffmpeg's next write.)"""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    app = subprocess.Popen([sys.executable, "-c", FFMPEG_PARENT], cwd=REPO, env=env,
                           stderr=subprocess.PIPE)
    children: list[int] = []
    end = time.monotonic() + 60
    while not children and time.monotonic() < end:
        time.sleep(0.2)
        text = Path(f"/proc/{app.pid}/task/{app.pid}/children").read_text()
        children = [int(p) for p in text.split()]
    assert children, "ffmpeg did not start"
    app.kill()
    app.wait()
    end = time.monotonic() + 10
    while time.monotonic() < end and _alive(children[0]):
        time.sleep(0.1)
    alive = _alive(children[0])
    if alive:
        os.kill(children[0], signal.SIGKILL)
    assert not alive, "ffmpeg kept running after the app was killed"


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


SLEEP_PARENT = """
import subprocess, sys
from app.child_processes import die_with_parent
child = subprocess.Popen(["sleep", "600"], preexec_fn=die_with_parent)
print(child.pid, flush=True)
child.wait()
"""


def test_a_child_that_writes_nothing_still_dies_with_the_app():
    """The mechanism behind the test above for a child that never writes to the app (ffmpeg
    between progress reports, a worker mid-frame): a broken pipe would not stop it."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    app = subprocess.Popen([sys.executable, "-c", SLEEP_PARENT], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, text=True)
    child = int(app.stdout.readline())
    app.kill()
    app.wait()
    end = time.monotonic() + 10
    while time.monotonic() < end and _alive(child):
        time.sleep(0.1)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive


def test_merge_workers_die_quietly_with_a_killed_merge(tmp_path):
    """SIGKILL the merge process alone (the OOM killer's way): its workers must go with it, not
    print BrokenPipe tracebacks into the terminal or linger. Before the fix about one kill in
    three showed one, so four kills at different points."""
    for round_ in range(4):
        ws = merge_workspace(tmp_path, f"ws{round_}", 8)
        proc = start_app("merge", "--test-predictor", "--mode", "seamless", "--workers", "2",
                         workspace=ws)
        merged = ws / "data_dst" / "merged"
        deadline = time.monotonic() + 300
        while len(list(merged.glob("*.jpg"))) < 4 + 6 * round_:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)     # the main process only, not its group
        _, err = proc.communicate(timeout=60)  # returns once every worker closed stderr
        assert "Traceback" not in err and "BrokenPipe" not in err, err
