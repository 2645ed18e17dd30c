"""Face masks for merging: the landmark hull, and DeepFaceLab's erode/blur modifiers.

Erode and blur sizes scale with the face's size on screen (as DeepFaceLab's converter does), so
the same modifier looks the same on a close-up and on a small face.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.faceset.landmarks import face_hull

#: mask values at or below this are treated as outside the face (interpolation noise)
NOISE_FLOOR = 0.1


def hull_mask(size: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """HxW float32 mask: 1 inside the face hull of `points` (x, y pixels; 68 landmarks get
    their eyebrows lifted, app.faceset.landmarks.face_hull), 0 outside, anti-aliased edge."""
    h, w = size
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, face_hull(points), 1.0, lineType=cv2.LINE_AA)
    return mask


def face_extent(mask: np.ndarray) -> float:
    """The mask's smaller side in pixels, averaged over thresholds 0.1..0.9 (0 if empty).

    Averaging over levels keeps a soft-edged mask's size stable from frame to frame. The box
    above a level comes from the row and column maxima (one pass over the mask, not nine).
    """
    rows, cols = mask.max(1), mask.max(0)
    sizes = []
    for level in np.arange(1, 10) / 10.0:
        ys, xs = np.nonzero(rows > level)[0], np.nonzero(cols > level)[0]
        if len(xs) and (xs[-1] - xs[0]) >= 4 and (ys[-1] - ys[0]) >= 4:
            sizes.append(min(xs[-1] - xs[0], ys[-1] - ys[0]))
    return float(np.mean(sizes)) if sizes else 0.0


def erode_size(extent: float, modifier: int) -> int:
    """Kernel size for an erode modifier (-200..200): negative dilates."""
    return int(extent * (0.126 - extent * 0.00004551365) * 0.01 * modifier)


def blur_size(extent: float, modifier: int) -> int:
    """Box-blur size for a blur modifier (0..200; negative values mean no blur)."""
    return int(extent * 0.10 * 0.01 * modifier) if modifier > 0 else 0


def erode_blur(mask: np.ndarray, erode_modifier: int, blur_modifier: int,
               extent: float | None = None) -> np.ndarray:
    """Apply DeepFaceLab's erode (or dilate) then blur modifiers to an HxW mask."""
    if extent is None:
        extent = face_extent(mask)
    out = mask
    ero = erode_size(extent, erode_modifier)
    if ero > 0:
        out = cv2.erode(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (ero, ero)))
    elif ero < 0:
        out = cv2.dilate(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (-ero, -ero)))
    blur = blur_size(extent, blur_modifier)
    if blur > 0:
        out = cv2.blur(out, (blur, blur))
    return np.clip(out, 0, 1)


def border_clip(size: int, per: float, out_mat: np.ndarray, shape: tuple) -> np.ndarray:
    """DeepFaceLab's `clip_hborder_mask_per` as an HxW factor for the frame-space mask: in the
    S x S face, 1 inside and 0 in a band of `per * S` pixels along the left, right and bottom
    edges, box-blurred over that band, then warped into the frame with `out_mat` (face -> frame
    region). It keeps a full face's mask off the cheeks' and chin's edge of the predicted square,
    where the model saw least."""
    band = int(size * per)
    if band < 1:
        return np.ones(shape[:2], np.float32)
    rect = np.ones((size, size), np.float32)
    rect[:, :band] = 0
    rect[:, -band:] = 0
    rect[-band:, :] = 0
    rect = cv2.blur(rect, (band, band))
    out = cv2.warpAffine(rect, out_mat, (shape[1], shape[0]), flags=cv2.WARP_INVERSE_MAP |
                         cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.clip(out, 0, 1)


def seamless_mask(mask: np.ndarray) -> np.ndarray | None:
    """Binary uint8 mask for Poisson cloning: `mask` above the lowest non-empty level 0.1..0.9."""
    for level in np.arange(1, 10) / 10.0:
        hard = mask > level
        if hard.any():
            return hard.astype(np.uint8) * 255
    return None
