"""Who does a face look like? dlib's face recognition net, used to score a swap.

The demo reports the share of merged frames whose face embedding is closer to the src person
than to the dst person: a number a user can trust more than a loss value.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np

from app.dlib_models import hog_detector, model_path, shape_predictor_68

RECOGNITION_NET = "dlib_face_recognition_resnet_model_v1.dat"


@lru_cache(maxsize=None)
def _recognizer():
    import dlib
    return dlib.face_recognition_model_v1(str(model_path(RECOGNITION_NET)))


def _read_rgb(path: Path) -> np.ndarray | None:
    import cv2
    data = np.fromfile(str(path), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


#: dlib's own threshold: two faces nearer than this (euclidean, 128-d) are the same person
#: (99.38% on LFW at this value, per dlib's model notes)
SAME_PERSON = 0.6


def embed_landmarks(image_rgb: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """128-d embedding of the face whose 68 landmarks (image pixels) are given.

    The net was trained on chips aligned by dlib's 5-point or 68-point shape (`get_face_chip`,
    150 px, padding 0.25); building that shape from our own landmarks means any detector's
    faces can be compared, and aligned face files (whose metadata carries landmarks) too.
    """
    import dlib
    lm = np.asarray(landmarks68, np.float64)
    lo, hi = lm.min(0), lm.max(0)
    rect = dlib.rectangle(int(lo[0]), int(lo[1]), int(np.ceil(hi[0])), int(np.ceil(hi[1])))
    shape = dlib.full_object_detection(
        rect, [dlib.point(int(round(x)), int(round(y))) for x, y in lm])
    chip = dlib.get_face_chip(np.ascontiguousarray(image_rgb), shape, size=150, padding=0.25)
    return np.asarray(_recognizer().compute_face_descriptor(chip), np.float64)


def embed_largest_face(image_rgb: np.ndarray) -> np.ndarray | None:
    """128-d embedding of the largest face found by the HOG detector, or None."""
    import dlib
    rects = hog_detector()(image_rgb, 1)
    if len(rects) == 0:
        return None
    rect = max(rects, key=lambda r: r.width() * r.height())
    shape = shape_predictor_68()(image_rgb, rect)
    chip = dlib.get_face_chip(image_rgb, shape, size=150, padding=0.25)
    return np.asarray(_recognizer().compute_face_descriptor(chip), np.float64)


def mean_embedding(paths: Iterable[Path]) -> np.ndarray:
    """Mean embedding over the images in which a face is found; ValueError when none has one."""
    found = [e for e in (embed_largest_face(img) for img in
                         (_read_rgb(p) for p in paths) if img is not None) if e is not None]
    if not found:
        raise ValueError("no face found in any reference image")
    return np.mean(found, axis=0)


@dataclass
class SwapScore:
    frames: int          # frames scored
    closer_to_src: int   # frames whose face is closer to src than to dst
    no_face: int         # frames where no face was found (counted as failures)

    @property
    def share(self) -> float:
        return self.closer_to_src / self.frames if self.frames else 0.0


def score_swap(merged: list[Path], src_refs: list[Path], dst_refs: list[Path]) -> SwapScore:
    """Share of merged frames whose face is closer (euclidean, dlib space) to src than to dst."""
    src_mean, dst_mean = mean_embedding(src_refs), mean_embedding(dst_refs)
    closer = no_face = 0
    for path in merged:
        img = _read_rgb(path)
        emb = None if img is None else embed_largest_face(img)
        if emb is None:
            no_face += 1
        elif np.linalg.norm(emb - src_mean) < np.linalg.norm(emb - dst_mean):
            closer += 1
    return SwapScore(frames=len(merged), closer_to_src=closer, no_face=no_face)
