"""Mask-editor polygons applied to a face mask, as DeepFaceLab's ie_polys were.

The face mask starts as the convex hull of the 68 landmarks; then each polygon, in the order the
user drew them, fills its area in ("include": hair, a hand that belongs to the face) or cuts it
out ("exclude": a microphone, a hand in front of the mouth). Later polygons win over earlier ones,
so an include inside an exclude restores that part. Polygons are stored in aligned-image pixels;
`transform` (2x3) maps them elsewhere, e.g. into the frame for merging.
"""

from __future__ import annotations

import numpy as np


def apply_polygons(mask: np.ndarray, polygons: list, modes: list | None = None,
                   transform: np.ndarray | None = None, on: float | int = 1,
                   scale: float = 1.0) -> np.ndarray:
    """Fill include / cut out exclude polygons into `mask` (in place, also returned).

    `modes`: "include"/"exclude" per polygon (missing = include); `scale` multiplies the points
    (an aligned face decoded at another resolution); `transform` maps them after scaling;
    `on` is the mask's full value (1.0 for float masks, 255 for uint8).
    """
    import cv2

    modes = list(modes or [])
    for k, poly in enumerate(polygons):
        pts = np.asarray(poly, np.float64).reshape(-1, 2) * scale
        if len(pts) < 3:
            continue
        if transform is not None:
            m = np.asarray(transform, np.float64)
            pts = pts @ m[:, :2].T + m[:, 2]
        value = 0 if k < len(modes) and modes[k] == "exclude" else on
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], value)
    return mask


def hull_mask(landmarks: np.ndarray, shape: tuple[int, int], on: float | int = 1,
              dtype=np.float32) -> np.ndarray:
    """The face hull (landmarks with lifted eyebrows, app.faceset.landmarks.face_hull) filled
    with `on` in an HxW mask."""
    import cv2

    from app.faceset.landmarks import face_hull
    mask = np.zeros(shape, dtype)
    cv2.fillConvexPoly(mask, face_hull(landmarks), on)
    return mask


def face_mask(landmarks: np.ndarray, polygons: list, modes: list | None, shape: tuple[int, int],
              on: float | int = 1, dtype=np.float32) -> np.ndarray:
    """Hull of the landmarks with the mask editor's polygons applied over it."""
    return apply_polygons(hull_mask(landmarks, shape, on, dtype), polygons, modes, on=on)
