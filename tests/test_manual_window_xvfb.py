"""The real manual-extraction window (OpenCV on Qt) under Xvfb: the user moves the rectangle over
a face with the mouse, accepts with Enter, skips a frame with Space, and the faces are written."""

import shutil
import time

import cv2
import numpy as np
import pytest

from app.faceset.face_file import read_face
from app.ui.manual_window import view_scale
from xvfb_display import find_on_screen, missing_tools, run_app, xdo, xvfb

from conftest import MEDIA, REPO

pytestmark = pytest.mark.skipif(bool(missing_tools()),
                                reason=f"needs {', '.join(missing_tools())} (Debian: xvfb xdotool "
                                       "imagemagick)")

FACE_CENTRE = (174, 190)  # of the GRID speaker in dst frame 00001 (its extracted source rect)


def test_place_face_with_mouse_accept_and_skip(tmp_path):
    ws = tmp_path / "ws"
    (ws / "data_dst").mkdir(parents=True)
    for name in ("00001.jpg", "00002.jpg"):
        shutil.copy(MEDIA / "merge" / "dst" / name, ws / "data_dst" / name)
    frame = cv2.imread(str(ws / "data_dst" / "00001.jpg"))
    scale = view_scale(frame.shape[1], frame.shape[0])
    assert scale > 1  # a 360x288 frame is shown enlarged, so the help text fits

    def place_accept_skip(wid):
        shown = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        ox, oy = find_on_screen(display, shown, tmp_path)
        x, y = (int(o + c * scale) for o, c in zip((ox, oy), FACE_CENTRE))
        xdo(display, "mousemove", str(x), str(y))
        time.sleep(1.5)  # the landmarks are refitted on mouse move
        xdo(display, "windowfocus", wid, "key", "Return")
        time.sleep(1.5)
        xdo(display, "windowfocus", wid, "key", "space")

    with xvfb() as display:
        rc, out = run_app(display, ["--workspace", str(ws), "extract", "dst", "--detector",
                                    "manual"], "Manual extraction", place_accept_skip, REPO)
    assert rc == 0, out
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
