"""What a face's 68 landmarks say on their own: its head pose, and how to draw them.

Here, below extraction, because the face files' readers (DeepFaceLab import, debug images, the
viewers) need them as much as the extractor does.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.faceset.head_pose import LANDMARK_IDS, head_pose


def estimate_pitch_yaw(landmarks: np.ndarray) -> tuple[float, float]:
    """Head pitch and yaw in [-1, 1] (+-90 degrees) from 68 landmarks, for sorting and yaw feeding
    (yaw > 0: the nose towards the picture's right).

    The 51-point solvePnP fit of `app.faceset.head_pose`, seen by a camera centred on the face
    with a focal length of four face widths (a face a quarter of the picture wide), so the
    answer is the same for a face's source and aligned landmarks. Until 2026-12-07 this was
    where the nose tip sat between the jaw ends; on the bench pairs' faces that estimate did
    not correlate with the fit (r -0.91 to 0.04, mostly of the opposite sign): dlib puts the jaw
    ends on the silhouette, which slides as the head turns, and a person's own jaw shape set
    its offset, so sort_by_yaw fed src faces of other poses than dst's.
    """
    lm = np.asarray(landmarks, np.float64)
    inner = lm[LANDMARK_IDS]
    side = 4.0 * max(float(np.ptp(inner[:, 0])), 1.0)
    yaw, pitch = head_pose(lm - inner.mean(0) + side / 2, (int(side), int(side)))
    if not (np.isfinite(yaw) and np.isfinite(pitch)):
        return 0.0, 0.0
    # the faces' own convention, older than the fit's: yaw > 0 with the nose towards the
    # picture's right
    return float(np.clip(pitch / 90, -1, 1)), float(np.clip(-yaw / 90, -1, 1))


#: how far the hull reaches above the eyebrows, in halves of the eye-to-eyebrow distance
#: (DeepFaceLab 2.0's `eyebrows_expand_mod`, 1.0 there too)
EYEBROW_LIFT = 1.0


def lift_eyebrows(landmarks: np.ndarray, amount: float = EYEBROW_LIFT) -> np.ndarray:
    """68 points with the eyebrow points (17-26) moved up, away from the eyes.

    dlib's eyebrow points lie on the eyebrows' middle line, so a hull through them leaves the
    upper half of dst's eyebrows outside the face mask: after a swap they show above src's own
    ("double eyebrows"). DeepFaceLab 2.0 lifts each eyebrow point by `amount` x half its distance
    from the eye point below it (an eye's corners and upper lid, the outer corner's partner taken
    a quarter of the way to the jaw end); the same geometry here. Other point counts are returned
    unchanged.
    """
    lm = np.array(landmarks, np.float64)
    if len(lm) != 68 or not amount:
        return lm
    outer_l = lm[36] + ((lm[36] + lm[0]) / 2 - lm[36]) / 2
    outer_r = lm[45] + ((lm[45] + lm[16]) / 2 - lm[45]) / 2
    below_l = np.stack([outer_l, lm[36], lm[37], lm[38], lm[39]])
    below_r = np.stack([lm[42], lm[43], lm[44], lm[45], outer_r])
    lm[17:22] += amount * 0.5 * (lm[17:22] - below_l)
    lm[22:27] += amount * 0.5 * (lm[22:27] - below_r)
    return lm


def face_hull(landmarks: np.ndarray, amount: float = EYEBROW_LIFT) -> np.ndarray:
    """The face's mask outline: the convex hull (int32 points for OpenCV's fill) of the
    landmarks with the eyebrows lifted (lift_eyebrows). Every landmark-hull mask (training's
    face masks, merge's dst mask, the debug drawings) is this one polygon."""
    pts = np.round(lift_eyebrows(landmarks, amount)).astype(np.int32)
    return cv2.convexHull(pts)


#: landmark groups drawn as polylines: (start, end, closed)
_GROUPS = [(0, 17, False), (17, 22, False), (22, 27, False), (27, 31, False), (31, 36, False),
           (36, 42, True), (42, 48, True), (48, 60, True), (60, 68, True)]


def draw_landmarks(img: np.ndarray, lm: np.ndarray, color=(0, 255, 0), thickness: int = 1) -> None:
    pts = np.round(lm).astype(np.int32)
    for a, b, closed in _GROUPS:
        cv2.polylines(img, [pts[a:b]], closed, color, thickness, cv2.LINE_AA)
    for p in pts:
        cv2.circle(img, (int(p[0]), int(p[1])), 1, (0, 0, 255), -1, cv2.LINE_AA)
