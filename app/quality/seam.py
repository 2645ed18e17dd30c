"""Seam: the colour and gradient step across the face edge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SeamStep:
    colour: np.ndarray   # Lab mean just inside the edge minus just outside (3,)
    gradient: float      # mean gradient magnitude on the edge itself


def _ring(mask: np.ndarray, outer: int, inner: int) -> np.ndarray:
    """Pixels within `outer` px outside the mask's edge and `inner` px inside it."""
    import cv2

    def k(r: int):
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    big = cv2.dilate(mask, k(outer)) if outer else mask
    small = cv2.erode(mask, k(inner)) if inner else mask
    return (big > 0) & ~(small > 0)


def seam_step(image_bgr: np.ndarray, mask: np.ndarray, band: int) -> SeamStep:
    """Colour step (bands of `band` px each side of the edge) and gradient on the edge.

    A real face already has some step at the hull (jaw shadow, brows), so the report scores the
    result's step against dst's own at the same edge: a pasted face of other colour or a hard
    edge shows as a larger colour difference and a gradient ratio above 1.
    """
    import cv2
    lab = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2LAB).astype(np.float64)
    inside, outside = _ring(mask, 0, band), _ring(mask, band, 0)
    if not inside.any() or not outside.any():
        return SeamStep(np.zeros(3), 0.0)
    colour = lab[inside].mean(0) - lab[outside].mean(0)
    gray = lab[..., 0]
    gx = cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_64F, 0, 1, ksize=3)
    edge = _ring(mask, 1, 1)
    return SeamStep(colour, float(np.hypot(gx, gy)[edge].mean()))
