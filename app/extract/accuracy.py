"""Landmark accuracy against hand-placed WebMorph templates (.tem): eye-centre error.

The eye centre from 68 landmarks is the mean of points 36-41 (image-left eye) and 42-47
(image-right eye), or the pupils found by the iris net where given (app/extract/pupils.py);
the .tem files' points 0 and 1 are the hand-placed pupils (see tem_pupils). The error is the
distance between them divided by the inter-ocular distance (the usual normalised error).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_tem_points(path: Path) -> np.ndarray:
    """All points of a WebMorph/Psychomorph template: first line the count, then `x y` lines."""
    lines = Path(path).read_text().split("\n")
    n = int(lines[0].split()[0])
    return np.array([[float(v) for v in line.split()[:2]] for line in lines[1:n + 1]])


def tem_pupils(path: Path) -> np.ndarray:
    """(2, 2) hand-placed pupil centres of a template.

    The 189-point FRL template (london, lisa1-4) has the pupils as points 0 and 1. The 83-point
    template of lisa's 15-60cm photos marks the iris centre (57, 50) and the pupil highlight
    (63, 81) of each eye; their mean is used.
    """
    pts = read_tem_points(path)
    if len(pts) == 83:
        return np.stack([pts[[57, 63]].mean(0), pts[[50, 81]].mean(0)])
    return pts[:2]


def eye_centres(landmarks68: np.ndarray) -> np.ndarray:
    """(2, 2): centre of the image-left eye, then the image-right eye."""
    lm = np.asarray(landmarks68, np.float64)
    return np.stack([lm[36:42].mean(0), lm[42:48].mean(0)])


def eye_error(landmarks68: np.ndarray, pupils: np.ndarray,
              found_pupils: np.ndarray | None = None) -> float:
    """Mean eye-centre distance to the hand-placed `pupils`, as a fraction of the inter-ocular
    distance; the eye centres are `found_pupils` (2, 2), image-left first, where given, else
    the 68 points' eye centres."""
    pupils = np.asarray(pupils, np.float64)[:2]
    pupils = pupils[np.argsort(pupils[:, 0])]  # image-left first
    eyes = (eye_centres(landmarks68) if found_pupils is None
            else np.asarray(found_pupils, np.float64))
    iod = np.linalg.norm(pupils[1] - pupils[0])
    return float(np.linalg.norm(eyes - pupils, axis=1).mean() / iod)
