"""The OpenCV window of `faceset view`: a grid of aligned faces drawn from `FacesetViewState`.

Marked faces are crossed out in red; `d` moves them to aligned_trash at once (so closing the
window never loses a decision already carried out, and nothing is ever deleted).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.errors import UserError
from app.faceset.face_file import FaceFileError, list_faces, read_face
from app.faceset.trash import move_to_trash
from app.ui.faceset_view_state import HELP_LINES, FacesetViewState
from app.ui.display import open_window

WINDOW = "Face set"
THUMB = 128
GRID = (8, 5)  # columns, rows
BAR = 62       # status and help lines above the grid


def thumbnail(path: Path, landmarks: bool) -> np.ndarray:
    """THUMB x THUMB image of a face (a grey tile naming the problem if it cannot be read)."""
    import cv2

    from app.faceset.landmarks import draw_landmarks
    try:
        img, meta = read_face(path)
    except FaceFileError:
        tile = np.full((THUMB, THUMB, 3), 60, np.uint8)
        cv2.putText(tile, "unreadable", (8, THUMB // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1, cv2.LINE_AA)
        return tile
    s = THUMB / img.shape[1]
    tile = cv2.resize(img, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    if landmarks:
        draw_landmarks(tile, meta.landmarks_array() * s)
    return tile


def draw(paths: list[Path], state: FacesetViewState, tiles: dict) -> np.ndarray:
    import cv2

    cols, rows = GRID
    img = np.zeros((BAR + rows * THUMB, cols * THUMB, 3), np.uint8)
    shown = {(paths[i], state.landmarks) for i in state.visible()}
    for key in [k for k in tiles if k not in shown]:  # only the page on screen stays decoded
        del tiles[key]
    for cell, index in enumerate(state.visible()):
        key = (paths[index], state.landmarks)
        if key not in tiles:
            tiles[key] = thumbnail(paths[index], state.landmarks)
        y, x = BAR + (cell // cols) * THUMB, (cell % cols) * THUMB
        img[y:y + THUMB, x:x + THUMB] = tiles[key]
        if index in state.marked:
            cv2.rectangle(img, (x + 1, y + 1), (x + THUMB - 2, y + THUMB - 2), (0, 0, 255), 3)
            cv2.line(img, (x, y), (x + THUMB - 1, y + THUMB - 1), (0, 0, 255), 2)
    status = (f"page {state.page + 1}/{state.pages}  {state.count} faces  "
              f"{len(state.marked)} marked")
    lines = [status] + (HELP_LINES if state.show_help else [])
    for k, line in enumerate(lines):
        cv2.putText(img, line, (6, 16 + 18 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return img


def run_faceset_view(folder: Path) -> str:
    """Open the viewer over `folder`; returns a summary line."""
    import cv2

    paths = list_faces(folder) if Path(folder).is_dir() else []
    if not paths:
        raise UserError("no aligned faces to view; run `python -m app extract src|dst` first",
                        folder)
    open_window(WINDOW, "the face set viewer needs a display (run it on a desktop); "
                        "`faceset info` and `faceset sort` work without one")
    cols, rows = GRID
    state = FacesetViewState(len(paths), cols * rows)

    def on_mouse(event, x, y, flags, _param):
        if event == cv2.EVENT_LBUTTONDOWN and y >= BAR:
            state.on_click_cell(((y - BAR) // THUMB) * cols + x // THUMB)
        elif event == cv2.EVENT_MOUSEWHEEL:
            state.on_wheel(cv2.getMouseWheelDelta(flags))
    cv2.setMouseCallback(WINDOW, on_mouse)
    moved, tiles = 0, {}
    try:
        while not state.finished:
            cv2.imshow(WINDOW, draw(paths, state, tiles))
            key = cv2.waitKey(20)
            if key != -1:
                state.on_key(key & 0xFF)
            if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                state.finished = True
            for indices in state.take_trash():
                gone = [paths[i] for i in indices]
                move_to_trash(gone, folder)
                kept = set(paths) - set(gone)
                paths = [p for p in paths if p in kept]
                moved += len(gone)
    finally:
        cv2.destroyWindow(WINDOW)
    return f"face set viewer: {moved} faces moved to aligned_trash, {len(paths)} kept"
