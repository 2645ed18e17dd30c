"""The real manual-extraction window (OpenCV on Qt) under Xvfb: the user moves the rectangle over
a face with the mouse, accepts with Enter, skips a frame with Space, and the faces are written."""

import os
import shutil
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from app.faceset.face_file import read_face
from app.ui.manual_window import view_scale
from xvfb_display import locate, missing_tools, screenshot, wait_window, xdo, xvfb

from conftest import MEDIA, REPO

pytestmark = pytest.mark.skipif(bool(missing_tools()),
                                reason=f"needs {', '.join(missing_tools())} (Debian: xvfb xdotool "
                                       "imagemagick)")

FACE_CENTRE = (174, 190)  # of the GRID speaker in dst frame 00001 (its extracted source rect)


def _window_origin(display, tmp_path, frame, scale):
    """Where the frame's top-left is on screen (the Qt window adds a toolbar around it)."""
    shown = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    patch = shown[shown.shape[0] // 2:, :]  # lower half: no help text drawn over it
    for _ in range(50):
        (x, y), score = locate(screenshot(display, tmp_path / "screen.png"), patch)
        if score > 0.8:
            return x, y - shown.shape[0] // 2
        time.sleep(0.2)
    raise AssertionError(f"frame not found on screen (best match {score:.2f})")


def test_place_face_with_mouse_accept_and_skip(tmp_path):
    ws = tmp_path / "ws"
    (ws / "data_dst").mkdir(parents=True)
    for name in ("00001.jpg", "00002.jpg"):
        shutil.copy(MEDIA / "merge" / "dst" / name, ws / "data_dst" / name)
    frame = cv2.imread(str(ws / "data_dst" / "00001.jpg"))
    scale = view_scale(frame.shape[1], frame.shape[0])
    assert scale > 1  # a 360x288 frame is shown enlarged, so the help text fits

    with xvfb() as display:
        env = {**os.environ, "DISPLAY": display}
        env.pop("QT_QPA_PLATFORM", None)
        proc = subprocess.Popen([sys.executable, "-m", "app", "--workspace", str(ws), "extract",
                                 "dst", "--detector", "manual"], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            wid = wait_window(display, "Manual extraction")
            ox, oy = _window_origin(display, tmp_path, frame, scale)
            x, y = (int(o + c * scale) for o, c in zip((ox, oy), FACE_CENTRE))
            xdo(display, "mousemove", str(x), str(y))
            time.sleep(1.5)  # the landmarks are refitted on mouse move
            xdo(display, "windowfocus", wid, "key", "Return")
            time.sleep(1.5)
            xdo(display, "windowfocus", wid, "key", "space")
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, out
    assert "1 frames accepted, 1 skipped, 1 faces written" in out
    faces = sorted((ws / "data_dst" / "aligned").glob("*.jpg"))
    assert [f.name for f in faces] == ["00001_0.jpg"]
    _, meta = read_face(faces[0])
    left, top, right, bottom = meta.source_rect
    centre = np.array([(left + right) / 2, (top + bottom) / 2])
    assert np.linalg.norm(centre - FACE_CENTRE) < 20, centre
    assert meta.source_filename == "00001.jpg"
    # the 68 landmarks were fitted to the face under the rectangle: the eyes lie above the mouth
    lm = np.asarray(meta.source_landmarks)
    assert lm[36:48, 1].mean() < lm[48:68, 1].mean() - 30
