"""Temporal smoothing of the Poisson blend ("Suppress seamless jitter?").

Seamless cloning adds to the pasted face a smooth correction field fixed by the dst pixels
around the mask edge. The edge follows the landmarks, which shake by a pixel or two from frame
to frame, so the correction's level (its mean per colour channel, the face's overall tint)
flickers even where the scene does not change. With the option on, merge first measures that
level on every frame (a cheap probe pass in the workers), then blends each face with the mean
level of its face over the neighbouring frames (`WINDOW` on each side): the face keeps its own
spatial correction and only the flicker of the level goes.

The target of a frame depends only on its neighbours' inputs, never on what was written before,
so a resumed merge (which probes the frames just before where it resumes) writes the same
frames as an uninterrupted one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

#: frames on each side whose blend level is averaged
WINDOW = 2
#: faces further apart than this (fraction of the face's size) are not the same face
MAX_MOVE = 0.35
#: the level shift fades in over this fraction of the face's size from the mask edge
RAMP = 0.15


def poisson_offset(cloned: np.ndarray, pasted: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """Mean (per channel) of what the Poisson blend added inside the binary mask `hard`."""
    inside = hard > 0
    if not inside.any():
        return np.zeros(3, np.float32)
    return (cloned[inside] - pasted[inside]).mean(0).astype(np.float32)


def shift_level(img: np.ndarray, hard: np.ndarray, shift: np.ndarray, extent: float) -> np.ndarray:
    """`img` + `shift` inside `hard`, faded to nothing at its edge (no seam with the dst)."""
    dist = cv2.distanceTransform((hard > 0).astype(np.uint8), cv2.DIST_L2, 3)
    ramp = np.clip(dist / max(RAMP * extent, 1.0), 0, 1)
    return img + ramp[..., None] * np.asarray(shift, np.float32)


@dataclass
class Entry:
    """A predicted frame waiting for its neighbours' blend levels."""

    path: object
    write: bool
    img: np.ndarray
    faces: list
    probe: object = None              # async result: list of levels (None per face without)
    levels: list = field(default_factory=list)


def _centre(face) -> tuple[np.ndarray, float]:
    lm = np.asarray(face.landmarks, np.float64)
    return lm.mean(0), float(np.ptp(lm, axis=0).max())


def targets(entries: list[Entry], i: int, window: int = WINDOW) -> list:
    """The blend level each face of entries[i] should get: the mean over its window of the
    levels of the same face (the nearest face in each neighbour, if it moved little)."""
    out = []
    for face, own in zip(entries[i].faces, entries[i].levels):
        if own is None:
            out.append(None)
            continue
        c, size = _centre(face)
        found = [own]
        for j in range(max(0, i - window), min(len(entries), i + window + 1)):
            if j == i:
                continue
            best = None
            for other, level in zip(entries[j].faces, entries[j].levels):
                d = float(np.linalg.norm(_centre(other)[0] - c))
                if level is not None and d <= MAX_MOVE * size and (best is None or d < best[0]):
                    best = (d, level)
            if best is not None:
                found.append(best[1])
        out.append(np.mean(found, axis=0).astype(np.float32))
    return out


class Smoother:
    """Holds predicted frames until the frames `WINDOW` ahead are probed, then releases them
    in order with each face's `seamless_target` set. `window` 0 passes frames straight on."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.buf: deque[Entry] = deque()
        self.behind: deque[Entry] = deque(maxlen=window)  # already released, still neighbours

    def push(self, entry: Entry) -> list[Entry]:
        if self.window == 0:
            return [entry]
        self.buf.append(entry)
        out = []
        while len(self.buf) > self.window:
            out.append(self._release())
        return out

    def flush(self) -> list[Entry]:
        out = []
        while self.buf:
            out.append(self._release())
        return out

    def _release(self) -> Entry:
        for e in list(self.behind) + list(self.buf):
            if e.probe is not None:
                e.levels, e.probe = e.probe.get(), None
            elif not e.levels:
                e.levels = [None] * len(e.faces)
        entry = self.buf[0]
        window = list(self.behind) + list(self.buf)[:self.window + 1]
        for face, target in zip(entry.faces, targets(window, len(self.behind), self.window)):
            face.seamless_target = target
        self.behind.append(self.buf.popleft())
        return entry
