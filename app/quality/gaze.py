"""Gaze: where the pupils sit within the eyes, so a result can be checked to look where dst looks.

A swap that copies dst's head pose and mouth but not its eyes (a model that always paints
src's straight-ahead gaze, or blurs the irises) shows up here and in no other score. The
pupils come from the iris net (app/extract/pupils.py) on the 68 points' eye corners.
"""

from __future__ import annotations

import numpy as np

from app.extract.pupils import EYE_CORNERS


def gaze(landmarks: np.ndarray, pupils: np.ndarray) -> np.ndarray:
    """(2,): the pupils' mean offset from their eye-corner midpoints, in each eye's own axes
    (along the corner line, towards image-right; across it, downwards), as fractions of the
    corner distance. Head roll and face size drop out, so result and dst compare directly;
    looking towards image-right raises the first number."""
    lm, pupils = np.asarray(landmarks, np.float64), np.asarray(pupils, np.float64)
    out = []
    for (i, j), pupil in zip(EYE_CORNERS, pupils):
        d = lm[j] - lm[i]
        width = float(np.hypot(*d)) or 1.0
        along = d / width
        across = np.array([-along[1], along[0]])
        off = pupil - (lm[i] + lm[j]) / 2
        out.append([off @ along / width, off @ across / width])
    return np.mean(out, axis=0)

