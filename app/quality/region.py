"""The face region a score looks at: the convex hull of the dst frame's 68 landmarks."""

from __future__ import annotations

import numpy as np


def face_hull_mask(shape: tuple[int, ...], landmarks: np.ndarray, erode: int = 0) -> np.ndarray:
    """uint8 mask (255 inside) of the landmarks' convex hull, shrunk by `erode` pixels.

    The hull reaches from the jaw to the brows, the area every merge mask mode replaces; eroding
    keeps the mask edge itself (scored by the seam score) out of the interior scores.
    """
    import cv2
    mask = np.zeros(shape[:2], np.uint8)
    hull = cv2.convexHull(np.round(landmarks).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255)
    if erode > 0:
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                         (2 * erode + 1, 2 * erode + 1)))
    return mask


def hull_erode_px(landmarks: np.ndarray, share: float = 0.05) -> int:
    """An erosion that scales with the face: `share` of the jaw width, at least 1 px."""
    width = float(np.linalg.norm(landmarks[16] - landmarks[0]))
    return max(1, int(round(width * share)))
