"""One look at a frame: the largest face's 68 landmarks and 128-D identity embedding (dlib), and
its pupils (the iris net, app/extract/pupils.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class FaceObs:
    """What dlib sees in one image; `landmarks`, `embedding` and `pupils` are None when no face
    is found."""
    image: np.ndarray                    # BGR uint8
    landmarks: np.ndarray | None = None  # (68, 2) float, image pixels
    embedding: np.ndarray | None = None  # (128,) float
    pupils: np.ndarray | None = None     # (2, 2) float, image pixels, image-left eye first

    @property
    def found(self) -> bool:
        return self.landmarks is not None


def read_bgr(path: Path) -> np.ndarray | None:
    """Decode an image (unicode paths); None for an unreadable file."""
    import cv2
    data = np.fromfile(str(path), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def observe(image_bgr: np.ndarray, embed: bool = True) -> FaceObs:
    """Detect the largest face (HOG, upsampled once) and fit landmarks, optionally embed it."""
    import cv2
    import dlib

    from app.dlib_models import hog_detector, shape_predictor_68
    from app.extract.pupils import locate_pupils
    from app.identity import _recognizer

    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    rects = hog_detector()(rgb, 1)
    if len(rects) == 0:
        return FaceObs(image_bgr)
    rect = max(rects, key=lambda r: r.width() * r.height())
    shape = shape_predictor_68()(rgb, rect)
    lm = np.array([[p.x, p.y] for p in shape.parts()], np.float64)
    emb = None
    if embed:
        chip = dlib.get_face_chip(rgb, shape, size=150, padding=0.25)
        emb = np.asarray(_recognizer().compute_face_descriptor(chip), np.float64)
    return FaceObs(image_bgr, lm, emb, locate_pupils(image_bgr, lm))
