"""What every face detector shares (the box, the scale logic, `make_detector`) and the 68-point
landmark fit. Each detector is one module `app/extract/detector_<name>.py` that declares
`DETECTOR = {"name": ..., "order": ..., "help": ..., "class": ...}` (see app/registry.py).

The detectors work on a resized copy of the frame chosen from its size, so big photos stay fast
and small video frames still find their faces; boxes come back in source-frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.extract import dlib_models


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


def to_gray(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def _resized(img: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return img
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=interp)


class ScaledDetector:
    """Shared scale logic: a frame is searched at one scale chosen from its size, or, given a
    `hint` (the smallest face width found in the previous video frame), at the smaller scale
    that brings such a face to `target` pixels; when that finds nothing, the full search runs.
    """

    max_side = 1280
    upsample_side = 800   # frames whose (scaled) longer side is at most this are upsampled x2
    target = 90           # face width (px at the searched scale) the hint aims at

    def _run(self, img: np.ndarray, up: int) -> list[tuple[tuple[float, ...], float]]:
        raise NotImplementedError

    def _prepare(self, img: np.ndarray) -> np.ndarray:
        return img

    def detect(self, img: np.ndarray, hint: float | None = None) -> list[Box]:
        src = self._prepare(img)
        long_side = max(src.shape[:2])
        base = min(1.0, self.max_side / long_side)
        up = 1 if long_side * base <= self.upsample_side else 0
        effective = base * (2 if up else 1)
        if hint:
            scale = float(np.clip(self.target / hint, 0.1, 2.0))
            if scale < 0.9 * effective:
                boxes = self._at(src, scale, 0)
                if boxes:
                    return boxes
        return self._at(src, base, up)

    def _at(self, src: np.ndarray, scale: float, up: int) -> list[Box]:
        small = np.ascontiguousarray(_resized(src, scale))
        return [Box(l / scale, t / scale, r / scale, b / scale, score)
                for (l, t, r, b), score in self._run(small, up)]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = min(a.right, b.right) - max(a.left, b.left)
    h = min(a.bottom, b.bottom) - max(a.top, b.top)
    inter = max(0.0, w) * max(0.0, h)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def make_detector(name: str):
    """A new detector of the declared `name` (ValueError for an unknown one)."""
    from app.extract import detector_entries
    from app.registry import by_name

    entry = by_name(detector_entries(), name)
    if entry is None:
        names = ", ".join(e.name for e in detector_entries())
        raise ValueError(f"unknown detector {name!r}; use one of {names}")
    return getattr(entry.load(), entry.info["class"])()


class Landmarker:
    """68 iBUG landmarks inside a face box (dlib's ensemble of regression trees, ~1 ms)."""

    def __init__(self):
        self._sp = dlib_models.shape_predictor_68()

    def fit(self, img: np.ndarray, box: Box) -> np.ndarray:
        import dlib
        gray = to_gray(img)
        rect = dlib.rectangle(int(round(box.left)), int(round(box.top)),
                              int(round(box.right)), int(round(box.bottom)))
        shape = self._sp(gray, rect)
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)
