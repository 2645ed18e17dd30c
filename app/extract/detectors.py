"""What every face detector shares (the box, the scale logic, `make_detector`) and the 68-point
landmark fit. Each detector is one module `app/extract/detector_<name>.py` that declares
`DETECTOR = {"name": ..., "order": ..., "help": ..., "class": ...}` (see app/registry.py).

The detectors work on a resized copy of the frame chosen from its size, so big photos stay fast
and small video frames still find their faces; boxes come back in source-frame pixels.

What the 68-point fit expects. dlib's shape predictor (an ensemble of regression trees, iBUG
300-W) starts from a mean shape placed in the box it is given and was trained on boxes from
dlib's own HOG detector, so it works best on that geometry: a square, upright box about 2.25
eye-to-mouth distances wide, centred a little below the eyes-mouth midpoint, i.e. from the
eyebrows to just under the lower lip, ear to ear at the cheeks. Its trees tolerate small
offsets (about 10% of the width) and roll up to about 20 degrees; beyond that the points slide
off the face. So every detector's box is mapped to HOG geometry before the fit:
- fast (HOG): as is.
- accurate (MMOD CNN): its tighter box, 1.2x wider, centre 0.04w right and 0.12w lower.
- yunet: 1.09x its width, centre 0.07 widths lower; and its eye points give the roll
  (`Box.roll`), which the fit undoes: it fits on an upright copy of the box area and rotates
  the points back.
- mt (MTCNN): O-net's box (1.35x taller than wide, brow to chin) 1.10x its width, centre 0.074
  widths lower, made square; its eye points give the roll as for yunet.
Each mapping was measured on faces both that detector and the HOG found (photos and frames of
the shared clips); the constants sit in each detector's file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from app import dlib_models


@dataclass
class Box:
    left: float
    top: float
    right: float
    bottom: float
    score: float = 1.0
    roll: float = 0.0     # in-plane rotation (degrees, image y down) where the detector knows it
    refit: bool = True    # may the landmark fit correct the roll from its own eye line

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


def box_from_five_points(box: tuple[float, float, float, float], points: np.ndarray,
                         score: float, width_ratio: float, down_shift: float,
                         refit: bool = True) -> Box:
    """A detector box with five points (eyes, nose, mouth corners) -> a HOG-geometry Box.

    The box is scaled to `width_ratio` x its width, moved `down_shift` widths down, made
    square; the eye line gives the roll the landmark fit undoes.
    """
    left, top, right, bottom = box
    width = (right - left) * width_ratio
    cx, cy = (left + right) / 2, (top + bottom) / 2 + down_shift * width
    eye = np.asarray(points[1], np.float64) - np.asarray(points[0], np.float64)
    roll = float(np.degrees(np.arctan2(eye[1], eye[0])))
    half = width / 2
    return Box(cx - half, cy - half, cx + half, cy + half, float(score), roll, refit)


#: below this roll (degrees) the predictor is used as is; above, the face is turned upright
ROLL_MIN = 3.0


class Landmarker:
    """68 iBUG landmarks inside a face box (dlib's ensemble of regression trees, ~1 ms)."""

    def __init__(self):
        self._sp = dlib_models.shape_predictor_68()

    def fit(self, img: np.ndarray, box: Box) -> np.ndarray:
        """Landmarks in image pixels; a rolled box is fitted on an upright copy of its area.

        Two passes: when the fitted eye line says the face is rolled by more than ROLL_MIN
        beyond what the box said (detectors without eye points say 0; YuNet's can miss a head
        tilted ~40 degrees), the face is fitted again upright at the eye line's roll. With
        yunet's boxes this lowered the flip-consistency error (frontal 5.1% -> 2.8%, turned
        30-60 degrees 13.1% -> 8.3%); MT's rolls are better than the fit's eye line on turned
        faces (second pass: 3.2% -> 4.2% at 15-30 degrees), so its boxes say `refit=False`
        (bench/landmarks.py, bench/RESULTS.md).
        """
        gray = to_gray(img)
        points = self._upright_fit(gray, box)
        eyes = points[42:48].mean(0) - points[36:42].mean(0)
        roll = float(np.degrees(np.arctan2(eyes[1], eyes[0])))
        if not box.refit or abs(roll - box.roll) < ROLL_MIN:
            return points
        return self._upright_fit(gray, replace(box, roll=roll))

    def _upright_fit(self, gray: np.ndarray, box: Box) -> np.ndarray:
        if abs(box.roll) < ROLL_MIN:
            return self._fit(gray, box)
        w = box.right - box.left
        cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
        rot = cv2.getRotationMatrix2D((cx, cy), box.roll, 1.0)
        rot[:, 2] += (w - cx, w - cy)  # the box centre lands in the middle of a 2w square
        size = int(np.ceil(2 * w))
        crop = cv2.warpAffine(gray, rot, (size, size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        pts = self._fit(crop, Box(w / 2, w / 2, 1.5 * w, 1.5 * w))
        back = cv2.invertAffineTransform(rot)
        return pts @ back[:, :2].T + back[:, 2]

    def _fit(self, gray: np.ndarray, box: Box) -> np.ndarray:
        import dlib
        rect = dlib.rectangle(int(round(box.left)), int(round(box.top)),
                              int(round(box.right)), int(round(box.bottom)))
        shape = self._sp(gray, rect)
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)
