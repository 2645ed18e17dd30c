"""Similarity alignment of 68 iBUG landmarks to a mean face (DeepFaceLab's get_transform_mat).

Shared by extraction (frame -> aligned face), training (aligned face -> model face type) and merge
(predicted face -> frame), so the geometry of a "half", "full" or "head" face is defined once.
"""

from __future__ import annotations

import numpy as np

from app.faceset.face_types import FACE_TYPES
from app.faceset.landmarks import estimate_pitch_yaw  # noqa: F401 (its old home)

#: DeepFaceLab's default output size per face type at extraction.
DEFAULT_SIZE = {"half": 256, "midfull": 256, "full": 256, "whole": 256, "head": 256}

# Mean face of landmarks 17..67 (brows, nose, eyes, mouth) in a unit square; dlib/faceswap's.
_MEAN_X = [
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
    0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
    0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
    0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364, 0.490127, 0.42689]
_MEAN_Y = [
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
    0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
    0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
    0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
    0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
    0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
    0.784792, 0.824182, 0.831803, 0.824182]
MEAN_FACE = np.stack([_MEAN_X, _MEAN_Y], axis=1).astype(np.float64)  # (51, 2)

# Border around the mean face, in units of output_size / 64, per face type (DeepFaceLab 1.0's
# half, full and head). midfull and whole are DeepFaceLab 2.0's mid face and whole face: 2.0
# crops a square of side (1 + 2 sqrt(2) p) mean-face sides (p = 0.0675 mid, 0.2109375 full, 0.40
# whole); 1.0's full face (64 / (64 - 2 * 12) = 1.6) is 2.0's full (1.597), so the same sides
# give paddings 32 (1 - 1 / side): 5.1 for mid and 17.0 for whole. Head stays 1.0's (2.0's head
# is narrower and follows the yaw).
_PADDING = {"half": 0, "midfull": 5.1, "full": 12, "whole": 17.0, "head": 24}
# 2.0's whole face moves the crop up by 7 % of the mean-face side to cover the forehead.
_RAISE = {"whole": 0.07}


def umeyama(src: np.ndarray, dst: np.ndarray, estimate_scale: bool = True) -> np.ndarray:
    """Least-squares similarity transform (3x3) taking points `src` onto `dst` (Umeyama 1991)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    num, dim = src.shape
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_d, dst_d = src - src_mean, dst - dst_mean
    cov = dst_d.T @ src_d / num
    d = np.ones(dim)
    if np.linalg.det(cov) < 0:
        d[-1] = -1
    u, s, vt = np.linalg.svd(cov)
    t = np.eye(dim + 1)
    t[:dim, :dim] = u @ np.diag(d) @ vt
    scale = 1.0
    if estimate_scale:
        var = src_d.var(0).sum()
        scale = (s * d).sum() / var if var > 0 else 1.0
    t[:dim, dim] = dst_mean - scale * (t[:dim, :dim] @ src_mean)
    t[:dim, :dim] *= scale
    return t


def face_matrix(landmarks: np.ndarray, size: int, face_type: str, scale: float = 1.0) -> np.ndarray:
    """2x3 affine matrix from image coordinates to an aligned `size` x `size` face.

    `scale` > 1 zooms out (more context), < 1 zooms in; the face stays centred.
    """
    if face_type not in _PADDING:
        raise ValueError(f"unknown face type {face_type!r}; use one of {FACE_TYPES}")
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"expected 68x2 landmarks, got {lm.shape}")
    padding = size / 64 * _PADDING[face_type]
    mat = umeyama(lm[17:], MEAN_FACE, True)[:2]
    mat = mat * (size - 2 * padding)
    mat[:, 2] += padding
    mat[1, 2] += _RAISE.get(face_type, 0.0) * (size - 2 * padding)
    mat *= 1.0 / scale
    mat[:, 2] += -size * ((1.0 / scale) - 1.0) / 2
    return mat


def transform_points(points: np.ndarray, mat: np.ndarray, invert: bool = False) -> np.ndarray:
    """Apply a 2x3 affine matrix (or its inverse) to Nx2 points."""
    pts = np.asarray(points, np.float64)
    m = np.asarray(mat, np.float64)
    if invert:
        m = invert_affine(m)
    return pts @ m[:, :2].T + m[:, 2]


def invert_affine(mat: np.ndarray) -> np.ndarray:
    full = np.vstack([np.asarray(mat, np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]
