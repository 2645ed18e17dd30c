"""Sharpness: variance of the Laplacian inside the face (the standard focus measure)."""

from __future__ import annotations

import numpy as np


def laplacian_variance(image_bgr: np.ndarray, mask: np.ndarray) -> float:
    """Variance of the grey image's Laplacian over the mask's pixels (0 for an empty mask).

    A blurry swap loses the pores, lashes and hair edges dst has; result / dst of this figure
    says how much of dst's detail the result keeps (1 = as sharp as dst).
    """
    import cv2
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)
    lap = cv2.Laplacian(gray, cv2.CV_64F, ksize=3)
    vals = lap[mask > 0]
    return float(vals.var()) if vals.size else 0.0
