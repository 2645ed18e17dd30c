"""What merge needs from a model, and a simple model-free predictor for tests and checks.

`app.models.load_predictor` returns objects with this shape; merge depends only on it, so merge
can be tested and benchmarked without a trained model.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from app.extract.align import MEAN_FACE, face_matrix
from app.merge.masks import hull_mask


@runtime_checkable
class Predictor(Protocol):
    resolution: int
    face_type: str

    def predict(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """faces float32 [N, res, res, 3] BGR 0..1 -> (faces [N, res, res, 3], masks [N, res, res, 1]).

        A predictor whose `skips_mask` is True also takes `need_mask=False` (merge passes it
        when the settings never read the mask) and may then return all-ones masks."""


def mean_face_mask(resolution: int, face_type: str) -> np.ndarray:
    """Mask of the mean face's landmark hull in an aligned face of this type (res x res)."""
    lm = _mean_face_68()
    mat = face_matrix(lm, resolution, face_type)
    pts = lm @ mat[:, :2].T + mat[:, 2]
    return hull_mask((resolution, resolution), pts)


def _mean_face_68() -> np.ndarray:
    """68 points whose 17..67 are the mean face, with a jaw line under it (0..16)."""
    lm = np.zeros((68, 2))
    lm[17:] = MEAN_FACE
    t = np.linspace(0, np.pi, 17)
    lm[:17, 0] = 0.5 - 0.55 * np.cos(t)
    lm[:17, 1] = 0.25 + 0.85 * np.sin(t)
    return lm * 100


class ColorShiftPredictor:
    """A deterministic stand-in for a trained model: the input face, colour-shifted and
    blurred, with the mean-face hull as its learned mask. Lets every merge option be checked
    (and timed) without training."""

    def __init__(self, resolution: int = 128, face_type: str = "full",
                 shift_bgr: tuple[float, float, float] = (0.15, -0.05, -0.1), blur: float = 1.0):
        self.resolution = resolution
        self.face_type = face_type
        self.shift = np.asarray(shift_bgr, np.float32)
        self.blur = blur
        self._mask = mean_face_mask(resolution, face_type)[..., None]

    def predict(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = np.empty_like(faces)
        for i, f in enumerate(faces):
            g = cv2.GaussianBlur(f, (0, 0), self.blur) if self.blur > 0 else f
            out[i] = np.clip(g + self.shift, 0, 1)
        return out, np.repeat(self._mask[None], len(faces), axis=0)
