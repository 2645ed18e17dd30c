"""The `accurate` detector: dlib's MMOD CNN together with the HOG's faces."""

from __future__ import annotations

import cv2
import numpy as np

from app import dlib_models
from app.extract.detector_fast import FastDetector
from app.extract.detectors import Box, ScaledDetector, iou

#: the registry's declaration (app/registry.py reads it without importing this module)
DETECTOR = {"name": "accurate", "order": 20,
            "help": "dlib MMOD CNN, finds turned and smaller faces, slow on the CPU",
            "class": "AccurateDetector"}


class _CnnDetector(ScaledDetector):
    """dlib's MMOD CNN alone: ~0.4 s of CPU per 360x288 frame (1.2 s at 640x480), so frames are
    brought to at most 640 px and only tiny ones are upsampled. Its boxes are tighter than the
    HOG's (which the 68-point predictor was trained on), so they are mapped to HOG geometry
    (measured on the test photos and GRID frames: 1.2x wider, centre 0.04w right, 0.12w lower).
    """

    max_side, upsample_side, target = 640, 300, 100  # target in HOG-like box widths

    def __init__(self):
        self._det = dlib_models.cnn_detector()

    def _prepare(self, img: np.ndarray) -> np.ndarray:
        return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def _run(self, img, up):
        out = []
        for d in self._det(img, up):
            r = d.rect
            w = r.right() - r.left()
            cx = (r.left() + r.right()) / 2 + 0.04 * w
            cy = (r.top() + r.bottom()) / 2 + 0.12 * w
            half = 0.6 * w
            out.append(((cx - half, cy - half, cx + half, cy + half), float(d.confidence)))
        return out


class AccurateDetector:
    """The CNN's faces (turned, occluded, badly lit) together with the HOG's (small frontal
    faces it finds with upsampling), duplicates merged keeping the HOG box. A superset of
    `fast`, at the CNN's cost.
    """

    name = "accurate"

    def __init__(self):
        self._cnn = _CnnDetector()
        self._hog = FastDetector()

    def detect(self, img: np.ndarray, hint: float | None = None) -> list[Box]:
        hog = self._hog.detect(img, hint)
        cnn = self._cnn.detect(img, hint)
        return hog + [c for c in cnn if all(iou(c, h) < 0.25 for h in hog)]
