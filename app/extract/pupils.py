"""Pupil centres from MediaPipe's iris net, run on crops placed by the 68 points' eye corners.

The 68-point eye contour's centre sits below the real pupil (the lids' points are not
symmetric about it): against hand-placed pupils it is off by 0.038 of the inter-ocular
distance on the London photos (median), the iris net's pupils by 0.005 (bench/RESULTS.md).

Crops as MediaPipe's iris graph makes them ("iris_landmark_landmarks_to_roi"): a square of
2.3 x the eye-corner distance, centred on the corners' midpoint, rotated to the line through
them, resampled to 64x64 RGB in [0, 1]; the net was trained on left eyes, so the image-right
eye's crop is mirrored before the net and its points mirrored back. The net's points are
continuous crop coordinates (pixel j spans [j, j + 1]); frame coordinates here are dlib's
(pixel j's centre at j), hence the half-pixel terms.

Runs on torch on the CPU: two 64x64 crops per face are not worth a GPU transfer, and the
extraction workers are CPU processes.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.extract.iris_net import SIZE

ROI_SCALE = 2.3
#: faces per net call: on one core, 16 faces (32 crops) cost ~35% less CPU per face than one
#: (bigger matrix products; extraction batches the faces of a run of frames)
BATCH_FACES = 16
#: 68-point indices of each eye's corners, image-left eye first, ordered left to right
EYE_CORNERS = ((36, 39), (42, 45))

_NET: dict = {}


def load() -> None:
    """Load the net now (extraction does it before its workers fork: they share it)."""
    if "eng" not in _NET:
        from app.extract.iris_net import load_engine
        _NET["eng"], _NET["model"] = load_engine("torch", "cpu")


def _engine():
    from app.extract.detector_mt import _one_thread_in_workers
    load()
    _one_thread_in_workers()
    return _NET["eng"], _NET["model"]


def crop_matrix(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """2x3 affine: continuous crop coordinates (0..64) -> frame pixels, for the eye whose
    corners are `left` and `right` (image-left first)."""
    a, b = np.asarray(left, np.float64), np.asarray(right, np.float64)
    d = b - a
    k = np.hypot(*d) * ROI_SCALE / SIZE
    c, s = d / (np.hypot(*d) or 1.0)
    rot = np.array([[c, -s], [s, c]]) * k
    return np.column_stack([rot, (a + b) / 2 - rot @ np.array([SIZE / 2, SIZE / 2])])


def eye_crops(faces: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, list]:
    """The net's input for the two eyes of every (BGR frame, 68 points), [2 * faces, 3, 64, 64]
    RGB in [0, 1] (image-right eyes mirrored), and each crop's crop->frame matrix."""
    crops, mats = [], []
    for frame, lm in faces:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        lm = np.asarray(lm, np.float64)
        for eye, (i, j) in enumerate(EYE_CORNERS):
            m = crop_matrix(lm[i], lm[j])
            sample = m.copy()  # crop pixel u has its centre at u + 0.5
            sample[:, 2] += m[:, :2] @ np.array([0.5, 0.5])
            crop = cv2.warpAffine(frame, sample, (SIZE, SIZE),
                                  flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
            if eye == 1:
                crop = crop[:, ::-1]
            crops.append(crop[:, :, ::-1].transpose(2, 0, 1))
            mats.append(m)
    x = np.asarray(crops, np.float32).reshape(-1, 3, SIZE, SIZE) / 255.0
    return x, mats


def run_net(x: np.ndarray) -> np.ndarray:
    """[N, 3, 64, 64] crops -> [N, 5, 3] iris points (centre, four on the rim) in crop px."""
    eng, model = _engine()
    return eng.predict(lambda F, P, b: model(F, P, b["x"]), {"x": x}).reshape(-1, 5, 3)


def pupils_of(faces: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Pupil centres (2, 2) in frame pixels, image-left eye first, of each (BGR frame, 68
    points), in batches of BATCH_FACES faces."""
    out: list[np.ndarray] = []
    for i in range(0, len(faces), BATCH_FACES):
        x, mats = eye_crops(faces[i:i + BATCH_FACES])
        centres = run_net(x)[:, 0, :2].astype(np.float64)
        centres[1::2, 0] = SIZE - centres[1::2, 0]  # the mirrored crops back
        pts = np.array([m[:, :2] @ c + m[:, 2] for m, c in zip(mats, centres)])
        out += list(pts.reshape(-1, 2, 2))
    return out


def locate_pupils_many(frame_bgr: np.ndarray, landmarks: list[np.ndarray]) -> list[np.ndarray]:
    """Pupil centres (2, 2) in frame pixels for each face's 68 points in one frame."""
    return pupils_of([(frame_bgr, lm) for lm in landmarks])


def locate_pupils(frame_bgr: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """(2, 2) pupil centres in frame pixels, image-left eye first."""
    return locate_pupils_many(frame_bgr, [landmarks68])[0]
