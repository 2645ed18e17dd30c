"""What a face's 68 landmarks say on their own: its rough head pose, and how to draw them.

Here, below extraction, because the face files' readers (DeepFaceLab import, debug images, the
viewers) need them as much as the extractor does.
"""

from __future__ import annotations

import cv2
import numpy as np


def estimate_pitch_yaw(landmarks: np.ndarray) -> tuple[float, float]:
    """Rough head pitch and yaw in [-1, 1] from 68 landmarks (for sorting and yaw feeding).

    Yaw: where the nose tip sits between the jaw ends; pitch: where it sits between brows and chin.
    """
    lm = np.asarray(landmarks, np.float64)
    left, right, nose = lm[0], lm[16], lm[30]
    width = np.linalg.norm(right - left) or 1.0
    yaw = (np.linalg.norm(nose - left) - np.linalg.norm(nose - right)) / width
    brow = lm[17:27].mean(0)
    chin = lm[8]
    height = np.linalg.norm(chin - brow) or 1.0
    pitch = (np.linalg.norm(nose - brow) - np.linalg.norm(chin - nose)) / height
    return float(np.clip(pitch, -1, 1)), float(np.clip(yaw, -1, 1))


#: landmark groups drawn as polylines: (start, end, closed)
_GROUPS = [(0, 17, False), (17, 22, False), (22, 27, False), (27, 31, False), (31, 36, False),
           (36, 42, True), (42, 48, True), (48, 60, True), (60, 68, True)]


def draw_landmarks(img: np.ndarray, lm: np.ndarray, color=(0, 255, 0), thickness: int = 1) -> None:
    pts = np.round(lm).astype(np.int32)
    for a, b, closed in _GROUPS:
        cv2.polylines(img, [pts[a:b]], closed, color, thickness, cv2.LINE_AA)
    for p in pts:
        cv2.circle(img, (int(p[0]), int(p[1])), 1, (0, 0, 255), -1, cv2.LINE_AA)
