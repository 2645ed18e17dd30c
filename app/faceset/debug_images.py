"""`faceset debug add|remove`: landmark pictures beside each face (DeepFaceLab's "add landmarks
debug images").

`add` writes `<face stem>_debug.jpg` next to every face: the face with its 68 landmarks and its
mask-editor polygons drawn. These pictures carry no face metadata, so `list_faces` leaves them
out and no step trains on them. `remove` deletes exactly those pictures and never a face file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.errors import UserError
from app.faceset.face_file import DEBUG_SUFFIX, FaceFileError, has_meta, list_faces, read_face
from app.fileio import atomic_write_bytes

POLY_COLORS = {"include": (0, 255, 0), "exclude": (0, 0, 255)}


def debug_picture(image: np.ndarray, meta) -> np.ndarray:
    """The face with its landmarks and mask polygons drawn (a copy)."""
    import cv2

    from app.faceset.landmarks import draw_landmarks, face_hull

    out = image.copy()
    cv2.polylines(out, [face_hull(meta.landmarks_array())], True, (0, 255, 255), 1, cv2.LINE_AA)
    draw_landmarks(out, meta.landmarks_array())
    for poly, mode in zip(meta.mask_polygons, meta.mask_polygon_modes):
        pts = np.round(np.asarray(poly, np.float64)).astype(np.int32)
        cv2.polylines(out, [pts], True, POLY_COLORS.get(mode, (255, 255, 255)), 1, cv2.LINE_AA)
    return out


def add_debug_images(folder: Path) -> str:
    """Write `<stem>_debug.jpg` beside every face of `folder`; returns a summary line."""
    import cv2

    folder = Path(folder)
    paths = list_faces(folder)
    if not paths:
        raise UserError("no face files here; run `python -m app extract` first", folder)
    written, bad = 0, 0
    for path in paths:
        try:
            image, meta = read_face(path)
        except FaceFileError as exc:
            print(f"skipped: {exc}")
            bad += 1
            continue
        ok, buf = cv2.imencode(".jpg", debug_picture(image, meta), [cv2.IMWRITE_JPEG_QUALITY, 90])
        if ok:
            atomic_write_bytes(folder / (path.stem + DEBUG_SUFFIX), buf.tobytes())
            written += 1
    text = f"wrote {written} landmark debug pictures (*{DEBUG_SUFFIX}) in {folder}"
    return text + (f"; {bad} unreadable faces skipped" if bad else "")


def remove_debug_images(folder: Path) -> str:
    """Delete the `*_debug.jpg` pictures of `folder` (a file with face metadata is kept)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("face folder not found", folder)
    removed = 0
    for path in sorted(folder.glob("*" + DEBUG_SUFFIX)):
        if path.is_file() and not has_meta(path):
            path.unlink()
            removed += 1
    return f"removed {removed} landmark debug pictures from {folder}"
