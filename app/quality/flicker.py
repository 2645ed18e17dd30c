"""Flicker: frame-to-frame change of the face region."""

from __future__ import annotations

import numpy as np


def frame_change(prev_bgr: np.ndarray, cur_bgr: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute grey-level change between two frames inside the mask.

    dst's own change (motion, speech) is the baseline: result / dst of the summed change is 1
    for a swap that moves exactly as dst does and grows when the face shimmers frame to frame.
    """
    import cv2
    a = cv2.cvtColor(prev_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)
    b = cv2.cvtColor(cur_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)
    sel = mask > 0
    return float(np.abs(b - a)[sel].mean()) if sel.any() else 0.0
