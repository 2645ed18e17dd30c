"""The `fast` detector: dlib's HOG frontal face detector."""

from __future__ import annotations

import numpy as np

from app import dlib_models
from app.extract.detectors import ScaledDetector, to_gray

#: the registry's declaration (app/registry.py reads it without importing this module)
DETECTOR = {"name": "fast", "order": 10, "help": "dlib HOG, frontal faces, very fast",
            "class": "FastDetector"}


class FastDetector(ScaledDetector):
    """dlib's HOG frontal detector (80 px window; x2 upsampling on frames up to 800 px finds
    faces down to ~40 px). About 5 ms for a 360x288 frame at one scale, 22 ms upsampled.
    """

    name = "fast"
    max_side, upsample_side, target = 1280, 800, 90

    def __init__(self):
        self._det = dlib_models.hog_detector()

    def _prepare(self, img: np.ndarray) -> np.ndarray:
        return to_gray(img)

    def _run(self, img, up):
        rects, scores, _ = self._det.run(img, up, 0.0)
        return [((r.left(), r.top(), r.right(), r.bottom()), float(sc))
                for r, sc in zip(rects, scores)]
