"""`faceset view`: page through a face set, mark faces, move them to aligned_trash."""

import shutil
import time

import pytest

from app.ui.faceset_view_state import FacesetViewState
from app.ui.faceset_view_window import BAR, GRID, THUMB
from conftest import MEDIA, REPO
from xvfb_display import missing_tools, run_app, xdo, xvfb


def test_paging_is_clamped_and_wheel_turns_pages():
    s = FacesetViewState(count=45, per_page=40)
    assert s.pages == 2 and list(s.visible()) == list(range(40))
    s.on_key(32)
    s.on_key(32)
    assert s.page == 1 and list(s.visible()) == list(range(40, 45))
    s.on_wheel(+120)
    assert s.page == 0
    s.on_key(ord(","))
    assert s.page == 0


def test_marks_toggle_and_d_hands_them_over_once():
    s = FacesetViewState(count=45, per_page=40)
    s.on_click_cell(0)
    s.on_click_cell(3)
    s.on_click_cell(3)  # unmark
    s.on_click_cell(39)
    s.on_key(32)
    s.on_click_cell(4)   # index 44
    s.on_click_cell(5)   # beyond the last face: nothing
    assert s.marked == {0, 39, 44}
    s.on_key(ord("d"))
    assert s.take_trash() == [[0, 39, 44]] and s.take_trash() == []
    assert s.count == 42 and s.pages == 2 and not s.marked
    s.on_key(ord("d"))  # nothing marked: nothing to move
    assert s.take_trash() == []


def test_deleting_the_last_page_moves_back_a_page():
    s = FacesetViewState(count=41, per_page=40)
    s.on_key(32)
    s.on_click_cell(0)
    s.on_key(ord("d"))
    assert s.count == 40 and s.page == 0


@pytest.mark.skipif(bool(missing_tools()), reason="needs Xvfb, xdotool and imagemagick")
def test_window_moves_clicked_faces_to_trash(tmp_path):
    folder = tmp_path / "data_src" / "aligned"
    folder.mkdir(parents=True)
    for side in ("src", "dst"):
        for f in sorted((MEDIA / "train" / side).glob("*.jpg")):
            shutil.copy(f, folder / f"{side}_{f.name}")
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) > GRID[0] * GRID[1]  # two pages

    def cell_xy(cell):
        return (str((cell % GRID[0]) * THUMB + THUMB // 2),
                str(BAR + (cell // GRID[0]) * THUMB + THUMB // 2))

    def mark_two_turn_mark_one_move(wid):
        time.sleep(1.5)
        geometry = xdo(display, "getwindowgeometry", wid)
        assert f"{GRID[0] * THUMB}x{BAR + GRID[1] * THUMB}" in geometry  # no toolbar
        for cell in (0, 9):
            xdo(display, "mousemove", *cell_xy(cell), "click", "1")
            time.sleep(0.3)
        xdo(display, "windowfocus", wid, "key", "space")
        time.sleep(0.5)
        xdo(display, "mousemove", *cell_xy(1), "click", "1")
        time.sleep(0.3)
        xdo(display, "windowfocus", wid, "key", "d")
        time.sleep(0.5)
        xdo(display, "windowfocus", wid, "key", "Escape")

    with xvfb() as display:
        rc, out = run_app(display, ["faceset", "view", "--dir", str(folder)], "Face set",
                          mark_two_turn_mark_one_move, REPO)
    assert rc == 0, out
    per_page = GRID[0] * GRID[1]
    gone = {names[0], names[9], names[per_page + 1]}
    trash = tmp_path / "data_src" / "aligned_trash"
    assert {p.name for p in trash.iterdir()} == gone
    assert sorted(p.name for p in folder.iterdir()) == [n for n in names if n not in gone]
    assert f"3 faces moved to aligned_trash, {len(names) - 3} kept" in out
