"""Temporal landmark smoothing for dst video, so aligned dst faces do not jitter.

A bilateral filter in time: each point is averaged with the same point in nearby frames, weighted
by time distance and by how far it moved. Detector/predictor jitter (a pixel or two) is averaged
away; real motion (a head turn, a mouth opening) moves points by more than the range scale and
keeps its own frame's position. Scales are relative to the face size, so any resolution works.
"""

from __future__ import annotations

import numpy as np


def face_size(lm: np.ndarray) -> float:
    lo, hi = lm.min(0), lm.max(0)
    return float(max(hi - lo)) or 1.0


def smooth_sequence(seq: list[np.ndarray | None], radius: int = 2, sigma_t: float = 1.0,
                    sigma_move: float = 0.015) -> list[np.ndarray | None]:
    """Smooth a list of 68x2 landmark arrays (None where a frame has no face).

    `sigma_move` is the per-point displacement (fraction of the face size) at which a
    neighbouring frame's weight falls to 1/e; neighbours across a gap (None) are not used.
    """
    out: list[np.ndarray | None] = []
    for i, lm in enumerate(seq):
        if lm is None:
            out.append(None)
            continue
        scale = sigma_move * face_size(lm)
        acc = lm.copy()
        wsum = np.ones((len(lm), 1))
        for direction in (-1, 1):
            for k in range(1, radius + 1):
                j = i + direction * k
                if j < 0 or j >= len(seq) or seq[j] is None:
                    break
                d2 = ((seq[j] - lm) ** 2).sum(1, keepdims=True)
                w = np.exp(-(k * k) / (2 * sigma_t ** 2)) * np.exp(-d2 / (scale * scale))
                acc += w * seq[j]
                wsum += w
        out.append(acc / wsum)
    return out
