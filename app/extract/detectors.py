"""Face detectors (fast = HOG, accurate = MMOD CNN) and the 68-point landmark fit.

Both detectors work on a resized copy of the frame chosen from its size, so big photos stay fast
and small video frames still find their faces; boxes come back in source-frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.extract import dlib_models

DETECTORS = ("fast", "accurate")


@dataclass
class Box:
    left: float
    top: float
    right: float
    bottom: float
    score: float = 1.0

    @property
    def area(self) -> float:
        return max(0.0, self.right - self.left) * max(0.0, self.bottom - self.top)

    def as_list(self) -> list[float]:
        return [self.left, self.top, self.right, self.bottom]


def _gray(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def _resized(img: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return img
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=interp)


class FastDetector:
    """HOG frontal detector. Frames are brought to at most `max_side` pixels; when nothing is
    found at that scale on a small enough image, it retries upsampled once (faces down to ~40 px).
    """

    name = "fast"

    def __init__(self, max_side: int = 1280, retry_side: int = 800):
        self.max_side = max_side
        self.retry_side = retry_side
        self._det = dlib_models.hog_detector()

    def detect(self, img: np.ndarray) -> list[Box]:
        gray = _gray(img)
        scale = min(1.0, self.max_side / max(gray.shape[:2]))
        small = _resized(gray, scale)
        rects, scores, _ = self._det.run(small, 0, 0.0)
        if not rects and max(small.shape[:2]) <= self.retry_side:
            rects, scores, _ = self._det.run(small, 1, 0.0)
        return [Box(r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale,
                    float(s)) for r, s in zip(rects, scores)]


class AccurateDetector:
    """MMOD CNN detector; on the CPU it costs ~0.35 s per 360x288 frame, so frames are brought to
    at most `max_side` pixels (faces of about 80 px at that scale and up are found) and small
    frames are upsampled so faces down to ~40 px are found.
    """

    name = "accurate"

    def __init__(self, max_side: int = 640, upsample_below: int = 400):
        self.max_side = max_side
        self.upsample_below = upsample_below
        self._det = dlib_models.cnn_detector()

    def detect(self, img: np.ndarray) -> list[Box]:
        rgb = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        scale = min(1.0, self.max_side / max(rgb.shape[:2]))
        small = np.ascontiguousarray(_resized(rgb, scale))
        up = 1 if max(small.shape[:2]) < self.upsample_below else 0
        found = self._det(small, up)
        return [Box(d.rect.left() / scale, d.rect.top() / scale, d.rect.right() / scale,
                    d.rect.bottom() / scale, float(d.confidence)) for d in found]


def make_detector(name: str):
    if name == "fast":
        return FastDetector()
    if name == "accurate":
        return AccurateDetector()
    raise ValueError(f"unknown detector {name!r}; use one of {DETECTORS}")


class Landmarker:
    """68 iBUG landmarks inside a face box (dlib's ensemble of regression trees, ~1 ms)."""

    def __init__(self):
        self._sp = dlib_models.shape_predictor_68()

    def fit(self, img: np.ndarray, box: Box) -> np.ndarray:
        import dlib
        gray = _gray(img)
        rect = dlib.rectangle(int(round(box.left)), int(round(box.top)),
                              int(round(box.right)), int(round(box.bottom)))
        shape = self._sp(gray, rect)
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)


def box_from_landmarks(lm: np.ndarray) -> Box:
    """A detector-like square box around 68 landmarks (for manual mode and tracking)."""
    lo, hi = lm.min(0), lm.max(0)
    c = (lo + hi) / 2
    half = max(hi - lo) / 2 * 1.1
    return Box(c[0] - half, c[1] - half, c[0] + half, c[1] + half)
