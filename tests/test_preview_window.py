"""The real OpenCV training preview window on a virtual X display (Xvfb), driven by xdotool.

`python -m app train SAE` (a tiny SAE) opens the window; the test checks on the X screen that
the window shows the preview grid, then presses `s` (save), `p` (refresh) and Enter (save and
exit) as a user would. Skipped where Xvfb, xdotool or ImageMagick's `import` is missing
(Debian: xvfb, xdotool, imagemagick).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from conftest import MEDIA, REPO
from xvfb_display import locate, missing_tools, screenshot, wait_window, xdo, xvfb

TRAIN = MEDIA / "train"
TITLE = "Training preview - SAE"

pytestmark = pytest.mark.skipif(bool(missing_tools()),
                                reason=f"needs {', '.join(missing_tools())} (Debian: xvfb xdotool "
                                       "imagemagick)")


def wait_for(what, check, timeout=180.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_preview_window_shows_the_grid_and_answers_keys(tmp_path):
    with xvfb() as display:
        _drive_the_preview_window(display, tmp_path)


def _drive_the_preview_window(display, tmp_path):
    env = {**os.environ, "DISPLAY": display, "FACESTUDIO_ASK": "0", "FACESTUDIO_THREADS": "1"}
    for key in ("FACESTUDIO_NO_WINDOW", "QT_QPA_PLATFORM"):
        env.pop(key, None)
    model = tmp_path / "model"
    history = model / "SAE_history"
    cmd = [sys.executable, "-m", "app", "train", "SAE", "--src-dir", str(TRAIN / "src"),
           "--dst-dir", str(TRAIN / "dst"), "--model-dir", str(model), "--batch-size", "2",
           "--seed", "0"]
    for opt in ("resolution=64", "ae_dims=128", "e_ch_dims=21", "d_ch_dims=11",
                "write_preview_history=y"):
        cmd += ["--option", opt]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def previews():
        return sorted(history.glob("*.png")) if history.is_dir() else []

    try:
        window = wait_window(display, TITLE, timeout=180)
        first = wait_for("the first preview", previews)[0]
        shown = cv2.imread(str(first))           # the history copy of what the window shows
        # the grid (faces, labels, loss graph) exactly as drawn, at 1:1, on the X screen
        wait_for("the preview on the screen", lambda: locate(
            screenshot(display, tmp_path / "screen.png"), shown)[1] > 0.98)

        xdo(display, "windowfocus", "--sync", window)
        xdo(display, "key", "s")
        data = model / "SAE_data.json"
        saved = wait_for("the save after 's'", lambda: data.is_file() and _iteration(data))
        assert proc.poll() is None               # 's' saves and keeps training

        before = len(previews())
        xdo(display, "key", "p")
        wait_for("the refresh after 'p'", lambda: len(previews()) > before)
        assert proc.poll() is None

        xdo(display, "key", "Return")
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    stopped = [line for line in out.splitlines() if line.startswith("stopped (user) at iteration")]
    assert stopped, out
    final = int(stopped[0].split("iteration ")[1].split(";")[0])
    assert final >= saved and _iteration(data) == final     # Enter saved, then exited


def _iteration(path: Path) -> int:
    try:
        return int(json.loads(path.read_text())["iteration"])
    except (OSError, ValueError, KeyError):   # mid-rename: try again
        return 0
