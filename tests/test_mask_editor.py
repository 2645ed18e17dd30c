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


def test_undo_redo_point_by_point_and_ctrl_wheel_to_start_and_end():
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
    s.on_wheel(-1, ctrl=True)  # DFL: Ctrl + wheel down undoes to the start of the history
    assert s.polys == []
    s.on_wheel(+1, ctrl=True)  # ... and Ctrl + wheel up redoes to its end
    assert s.result()[0] == [SQUARE]
    s.on_key(8)  # Backspace undoes too
    s.on_click(0, 0, "include")  # a new edit drops the redo branch
    s.on_wheel(+1, ctrl=True)
    assert s.polys[0].points[-1] == (0.0, 0.0) and not s.polys[0].closed


def _draw_square(s, mode="include"):
    for pt in SQUARE:
        s.on_click(*pt, mode)


def test_dfl_keys_c_saves_x_skips_both_stay_in_place():
    """DeepFaceLab 1.0's program (its help line "[z] - prev image. [x] - skip. [c] - save.")."""
    stored = {1: ([SQUARE], ["exclude"])}
    s = _state(stored, count=3)
    _draw_square(s)
    s.on_key(ord("c"))  # save face 0 (closes the open polygon), go to 1
    assert s.take_actions() == [("save", 0, [SQUARE], ["include"])] and s.index == 1
    assert s.result() == ([SQUARE], ["exclude"])  # face 1's stored polygon is loaded
    s.on_click(1, 1, "include")
    s.on_key(ord("x"))  # skip: nothing written, nothing moved
    assert s.take_actions() == [] and s.index == 2
    s.on_key(ord("z"))
    assert s.index == 1 and s.result() == ([SQUARE], ["exclude"])  # the skipped edit is gone
    assert s.take_actions() == []  # face 1 never left the set, nothing to bring back


def test_dfl_keys_e_saves_and_confirms_w_skips_and_moves_q_brings_back():
    s = _state(count=4)
    _draw_square(s, "exclude")
    s.on_key(ord("e"))
    assert s.take_actions() == [("save", 0, [SQUARE], ["exclude"]), ("move", 0, "confirmed")]
    _draw_square(s)
    s.on_key(ord("w"))  # skip: the drawing is not written, the face goes to aligned_skipped
    assert s.take_actions() == [("move", 1, "skipped")] and s.index == 2
    s.on_key(ord("q"))  # Q: back to face 1, out of aligned_skipped
    assert s.index == 1 and s.take_actions() == [("move", 1, "")]
    s.on_key(ord("z"))  # Z does the same as Q
    assert s.index == 0 and s.take_actions() == [("move", 0, "")]
    assert s.result() == ([], [])  # a stub loader: what the file holds is loaded again


def test_shift_acts_on_ten_faces():
    stored = {i: ([SQUARE], ["include"]) for i in range(25)}
    s = _state(stored, count=25)
    s.on_key(ord("X"))  # Shift+X: skip 10
    assert s.index == 10 and s.take_actions() == []
    s.on_key(ord("C"))  # Shift+C: save 10 (each as it is)
    acts = s.take_actions()
    assert s.index == 20 and [a[:2] for a in acts] == [("save", i) for i in range(10, 20)]
    s.on_key(ord("W"))  # Shift+W at face 20: the last 5 are moved, then the editor ends
    assert s.finished and s.take_actions() == [("move", i, "skipped") for i in range(20, 25)]
    s = _state(stored, count=25)
    for _ in range(12):
        s.on_key(ord("e"))
    s.take_actions()
    s.on_key(ord("Q"))  # Shift+Q: 10 back, each moved face brought back
    assert s.index == 2 and s.take_actions() == [("move", i, "") for i in range(11, 1, -1)]


def test_r_puts_the_last_saved_polygons_on_this_face():
    s = _state(count=3)
    _draw_square(s, "exclude")
    s.on_key(ord("c"))
    s.take_actions()
    s.on_key(ord("r"))
    assert s.result() == ([SQUARE], ["exclude"]) and s.dirty
    s.on_wheel(-1)  # undoable like any edit
    assert s.result() == ([], [])


def test_esc_quits_keeping_drawn_work_and_help_lists_every_key():
    stored = {0: ([SQUARE], ["exclude"])}
    s = _state(stored, count=2)
    for pt in [[0, 0], [9, 0], [9, 9]]:
        s.on_click(*pt, "exclude")
    s.on_key(27)  # Esc saves what was drawn
    assert s.finished and s.take_actions() == [
        ("save", 0, [SQUARE, [[0, 0], [9, 0], [9, 9]]], ["exclude", "exclude"])]
    helptext = " ".join(s.view()["help"])
    for words in ("C: save", "X: skip", "E: save, to aligned_confirmed",
                  "W: skip, to aligned_skipped", "Q/Z: previous", "Shift: 10", "+Ctrl",
                  "Esc: quit", "-/+: zoom"):
        assert words in helptext


def test_save_on_last_face_finishes():
    s = _state(count=1)
    s.on_key(ord("c"))
    assert s.finished and s.take_actions() == [("save", 0, [], [])]


def test_moves_go_to_the_workspace_folders_and_back(tmp_path):
    from app.ui.mask_editor_window import FacePlaces, carry_out
    from app.workspace import Workspace

    ws = Workspace(tmp_path)
    folder = ws.aligned_dir("dst")
    folder.mkdir(parents=True)
    for name in ("00001_0.jpg", "00002_0.jpg"):
        shutil.copy(MEDIA / "merge" / "dst" / "aligned" / "00001_0.jpg", folder / name)
    paths = sorted(folder.iterdir())
    places = FacePlaces(paths, {"": folder, "confirmed": ws.aligned_confirmed_dir("dst"),
                                "skipped": ws.aligned_skipped_dir("dst")})
    s = MaskEditorState(2, lambda i: (read_meta(places.path(i)).mask_polygons,
                                      read_meta(places.path(i)).mask_polygon_modes))
    _draw_square(s, "exclude")
    s.on_key(ord("e"))
    s.on_key(ord("w"))
    assert carry_out(places, s.take_actions()) == 1
    confirmed = tmp_path / "data_dst" / "aligned_confirmed" / "00001_0.jpg"
    assert confirmed.exists() and not (folder / "00001_0.jpg").exists()
    assert (tmp_path / "data_dst" / "aligned_skipped" / "00002_0.jpg").exists()
    assert read_meta(confirmed).mask_polygon_modes == ["exclude"]
    s = MaskEditorState(2, s.load, index=1, places={0: "confirmed", 1: "skipped"})
    s.on_key(ord("q"))
    carry_out(places, s.take_actions())
    assert (folder / "00001_0.jpg").exists() and not confirmed.exists()
    assert s.result() == ([SQUARE], ["exclude"])  # loaded from wherever the file is


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
