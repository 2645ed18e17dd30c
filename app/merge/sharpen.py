"""Blur or sharpen the predicted face before it is pasted: DeepFaceLab 2.0's merger option
("Choose sharpen mode" none / box / gaussian, then "blur/sharpen amount" -100..100).

A young model's face is soft; sharpening it brings its edges (eyes, brows, lips) nearer dst's
crispness, at the cost of halos and amplified noise when overdone (the flicker score shows it).
Same arithmetic as DFL 2.0 (core/imagelib/blursharpen.py), on the face at model resolution in
0..1 with a 3x3 kernel: box = identity + amount x (identity - 3x3 mean); gaussian = an unsharp
mask, (1 + amount / 2) x face - amount / 2 x blurred face. A negative amount blurs instead:
each 10 of it is one 5x5 median pass, the rest a partial pass (with any mode, where DFL 2.0
asks the amount only once a mode is chosen).
faceswap's converter has the same two kernels as its "sharpening" adjustment.
"""

from __future__ import annotations

import numpy as np

SHARPEN_MODES = ("none", "box", "gaussian")
KERNEL = 3


def blur_sharpen(face: np.ndarray, mode: str, amount: int) -> np.ndarray:
    """The face (HxWx3 float32 in 0..1) sharpened (`amount` > 0) or blurred (< 0), clipped."""
    import cv2   # here: the merge option table imports this module at start-up
    face = np.asarray(face, np.float32)
    if amount < 0:
        return _median_blur(face, -amount)
    if mode == "none" or amount == 0:
        return face
    if mode == "box":
        kernel = np.zeros((KERNEL, KERNEL), np.float32)
        kernel[KERNEL // 2, KERNEL // 2] = 1.0
        kernel += (kernel - np.full_like(kernel, 1.0 / KERNEL ** 2)) * amount
        out = cv2.filter2D(face, -1, kernel, borderType=cv2.BORDER_REFLECT)
    else:
        blur = cv2.GaussianBlur(face, (KERNEL, KERNEL), 0)
        out = cv2.addWeighted(face, 1.0 + 0.5 * amount, blur, -0.5 * amount, 0)
    return np.clip(out, 0, 1)


def _median_blur(face: np.ndarray, amount: int) -> np.ndarray:
    """Whole 5x5 median passes for each full 10, then a blend with one more pass for the rest."""
    import cv2
    while amount > 0:
        # cv2's 5x5 median takes 8-bit images only; the face is quantised for the filter alone
        blurred = cv2.medianBlur(np.round(face * 255).astype(np.uint8), 5).astype(np.float32)
        blurred /= 255.0
        part = 1.0 if amount >= 10 else amount / 10.0
        face = face * (1.0 - part) + blurred * part
        amount -= 10
    return face
