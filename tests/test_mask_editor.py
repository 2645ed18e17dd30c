"""Mask editor: polygons drawn with the mouse fix the face mask; saved in the face file only."""

import shutil
import time

import cv2
import numpy as np
import pytest

from app.faceset.face_file import FaceFileError, FaceMeta, read_face, read_meta
from app.faceset.mask_polygons import apply_polygons, face_mask
from app.ui.mask_editor_state import MaskEditorState
from conftest import MEDIA, REPO
from xvfb_display import find_on_screen, missing_tools, run_app, xdo, xvfb

SQUARE = [[40, 40], [60, 40], [60, 60], [40, 60]]


def _lm_square(lo=10, hi=90):
    return np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]] + [[50, 50]] * 64, float)


# ---------------------------------------------------------------- the mask the polygons make

def test_exclude_cuts_include_adds_and_order_matters():
    lm = _lm_square()
    hull = face_mask(lm, [], [], (100, 100))
    cut = face_mask(lm, [SQUARE], ["exclude"], (100, 100))
    assert hull[50, 50] == 1 and cut[50, 50] == 0 and cut[20, 20] == 1
    assert hull.sum() - cut.sum() == pytest.approx(21 * 21, rel=0.1)
    grown = face_mask(lm, [[[90, 40], [99, 40], [99, 60], [90, 60]]], ["include"], (100, 100))
    assert grown[50, 95] == 1 and hull[50, 95] == 0
    back = face_mask(lm, [SQUARE, SQUARE], ["exclude", "include"], (100, 100))
    assert back[50, 50] == 1  # the later polygon wins


def test_polygons_follow_scale_and_transform():
    mask = np.zeros((200, 200), np.uint8)
    apply_polygons(mask, [SQUARE], ["include"], transform=np.array([[1, 0, 100], [0, 1, 0]]),
                   on=255, scale=2.0)
    ys, xs = np.nonzero(mask)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (180, 200 - 1, 80, 120) or \
        (xs.min(), ys.min(), ys.max()) == (180, 80, 120)


def test_face_file_keeps_modes_and_rejects_bad_ones(tmp_path):
    src = tmp_path / "f.jpg"
    shutil.copy(MEDIA / "merge" / "dst" / "aligned" / "00001_0.jpg", src)
    meta = read_meta(src)
    assert meta.mask_polygon_modes == []
    d = meta.to_dict()
    d.pop("mask_polygon_modes")
    d["mask_polygons"] = [SQUARE]
    assert FaceMeta.from_dict(d).mask_polygon_modes == ["include"]  # older files: include
    d["mask_polygon_modes"] = ["exclude"]
    assert FaceMeta.from_dict(d).mask_polygon_modes == ["exclude"]
    d["mask_polygon_modes"] = []
    assert FaceMeta.from_dict(d).mask_polygon_modes == ["include"]
    for bad in (["cut"], ["include", "exclude"], "exclude"):
        d["mask_polygon_modes"] = bad
        with pytest.raises(FaceFileError, match="mask_polygon_modes"):
            FaceMeta.from_dict(d, src)


# ---------------------------------------------------------------- the editor's state machine

def _state(stored=None, count=2):
    stored = stored or {}
    return MaskEditorState(count, lambda i: stored.get(i, ([], [])))


def test_clicks_make_polygons_and_switching_button_starts_a_new_one():
    s = _state()
    for pt in SQUARE:
        s.on_click(*pt, "include")
    s.on_click(70, 70, "exclude")  # closes the include polygon, starts an exclude one
    s.on_click(80, 70, "exclude")
    s.on_click(75, 80, "exclude")
    s.on_close_polygon()
    polys, modes = s.result()
    assert modes == ["include", "exclude"] and polys[0] == SQUARE and len(polys[1]) == 3


def test_fewer_than_three_points_is_dropped():
    s = _state()
    s.on_click(1, 1, "exclude")
    s.on_click(5, 1, "exclude")
    s.on_close_polygon()
    assert s.result() == ([], []) and not s.dirty


def test_undo_redo_point_by_point():
    s = _state()
    for pt in SQUARE:
        s.on_click(*pt, "include")
    s.on_close_polygon()
    s.on_wheel(-1)  # undo the closing
    assert s.result() == ([], []) and len(s.polys[0].points) == 4
    s.on_wheel(-1)
    assert len(s.polys[0].points) == 3
    s.on_wheel(+1)
    s.on_wheel(+1)
    assert s.result()[0] == [SQUARE]
    s.on_key(8)  # Backspace undoes too
    s.on_click(0, 0, "include")  # a new edit drops the redo branch
    s.on_key(ord("r"))
    assert s.polys[0].points[-1] == (0.0, 0.0) and not s.polys[0].closed


def test_save_next_skip_previous_and_esc_keeps_drawn_work():
    stored = {1: ([SQUARE], ["exclude"])}
    s = _state(stored, count=3)
    for pt in SQUARE:
        s.on_click(*pt, "include")
    s.on_key(ord("c"))  # save face 0 (closes the open polygon), go to 1
    assert s.take_saves() == [(0, [SQUARE], ["include"])] and s.index == 1
    assert s.result() == ([SQUARE], ["exclude"])  # face 1's stored polygon is loaded
    s.on_click(1, 1, "include")
    s.on_key(ord("x"))  # next without saving
    assert s.take_saves() == [] and s.index == 2
    s.on_key(ord("z"))
    assert s.index == 1 and s.result() == ([SQUARE], ["exclude"])  # the skipped edit is gone
    s.on_wheel(1)
    for pt in [[0, 0], [9, 0], [9, 9]]:
        s.on_click(*pt, "exclude")
    s.on_key(27)  # Esc saves what was drawn
    assert s.finished and s.take_saves() == [(1, [SQUARE, [[0, 0], [9, 0], [9, 9]]],
                                                  ["exclude", "exclude"])]


def test_save_on_last_face_finishes():
    s = _state(count=1)
    s.on_key(ord("c"))
    assert s.finished and s.take_saves() == [(0, [], [])]


# ---------------------------------------------------------------- the real window (Xvfb)

@pytest.mark.skipif(bool(missing_tools()), reason="needs Xvfb, xdotool and imagemagick")
def test_window_draws_exclude_polygon_and_saves_it(tmp_path):
    folder = tmp_path / "aligned"
    folder.mkdir()
    face_path = folder / "00001_0.jpg"
    shutil.copy(MEDIA / "merge" / "dst" / "aligned" / "00001_0.jpg", face_path)
    face, meta = read_face(face_path)
    pixels_before = cv2.imread(str(face_path))
    mouth = meta.landmarks_array()[48:60]
    lo, hi = mouth.min(0) - 4, mouth.max(0) + 4
    box = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
    scale = 512 / face.shape[1]
    def draw_exclude_box_and_save(wid):
        shown = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        ox, oy = find_on_screen(display, shown, tmp_path)
        for x, y in box:
            xdo(display, "mousemove", str(int(ox + x * scale)), str(int(oy + y * scale)),
                "click", "3")
            time.sleep(0.3)
        xdo(display, "windowfocus", wid, "key", "Return")
        time.sleep(0.5)
        xdo(display, "windowfocus", wid, "key", "c")

    with xvfb() as display:
        rc, out = run_app(display, ["mask", "edit", "--dir", str(folder)], "Mask editor",
                          draw_exclude_box_and_save, REPO)
    assert rc == 0, out
    assert "1 faces saved of 1" in out
    saved = read_meta(face_path)
    assert saved.mask_polygon_modes == ["exclude"]
    assert np.allclose(np.asarray(saved.mask_polygons[0]), np.asarray(box), atol=2.5)
    assert np.array_equal(cv2.imread(str(face_path)), pixels_before)  # pixels untouched
    mask = face_mask(saved.landmarks_array(), saved.mask_polygons, saved.mask_polygon_modes,
                     face.shape[:2])
    cx, cy = np.round(mouth.mean(0)).astype(int)
    assert mask[cy, cx] == 0 and mask[int(lo[1]) - 20, cx] == 1  # mouth out, nose in
