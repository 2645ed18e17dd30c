"""Expression: how far the inner lips are apart, relative to the eye distance."""

from __future__ import annotations

import numpy as np


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-mouth opening (points 61-63 to 65-67 of the 68) / inter-ocular distance.

    Normalising by the eye distance makes the figure independent of face size, so a result and
    its dst frame compare directly.
    """
    lm = np.asarray(landmarks, np.float64)
    upper, lower = lm[61:64].mean(0), lm[65:68].mean(0)
    eyes = float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))) or 1.0
    return float(np.linalg.norm(lower - upper)) / eyes


def pearson(a: list[float], b: list[float]) -> float:
    """Pearson correlation; nan when fewer than 3 pairs or either series does not vary."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.size < 3 or x.std() < 1e-9 or y.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])
