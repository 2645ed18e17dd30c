"""Head pose from 68 landmarks: cv2.solvePnP against a generic 3-D face (degrees)."""

from __future__ import annotations

import numpy as np

# A generic head (arbitrary units, as in the widely used OpenCV head-pose recipe), in camera
# axes: x right, y down, z away from the camera; the nose tip is the origin.
MODEL_POINTS = np.array([
    (0.0, 0.0, 0.0),          # 30 nose tip
    (0.0, 330.0, 65.0),       # 8 chin
    (-225.0, -170.0, 135.0),  # 36 outer corner of the image-left eye
    (225.0, -170.0, 135.0),   # 45 outer corner of the image-right eye
    (-150.0, 150.0, 125.0),   # 48 image-left mouth corner
    (150.0, 150.0, 125.0),    # 54 image-right mouth corner
])
LANDMARK_IDS = [30, 8, 36, 45, 48, 54]


def camera_matrix(width: int, height: int) -> np.ndarray:
    """Pinhole camera with focal length = image width (no calibration is known)."""
    return np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], np.float64)


def head_pose(landmarks: np.ndarray, image_size: tuple[int, int]) -> tuple[float, float]:
    """(yaw, pitch) in degrees; 0, 0 is a face looking into the camera.

    Absolute angles depend on the generic model; the scores use only differences between a
    result and its dst frame, measured the same way.
    """
    import cv2
    w, h = image_size
    pts = np.asarray(landmarks, np.float64)[LANDMARK_IDS]
    ok, rvec, _ = cv2.solvePnP(MODEL_POINTS, pts, camera_matrix(w, h), np.zeros(4),
                               flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return float("nan"), float("nan")
    rot, _ = cv2.Rodrigues(rvec)
    yaw = np.degrees(np.arcsin(np.clip(-rot[2, 0], -1, 1)))
    pitch = np.degrees(np.arctan2(rot[2, 1], rot[2, 2]))
    return float(yaw), float(pitch)
