"""Synthetic obstructions pasted over a face, and the mask they leave.

What covers a face in real footage (hands, microphones, glasses arms, hair, another person) is
never labelled, so the mask network learns it from made-up ones: a random shape (a blob like a
hand, an ellipse, a bar like a finger or a microphone, or the outline of another face) filled
with a texture (a piece of another face, so skin is not taken to mean "face"; a flat or graded
colour with noise, often a neutral grey as many objects are), placed so that it overlaps the face. The target mask loses what the shape
covers.
"""

from __future__ import annotations

import cv2
import numpy as np

SHAPES = ("blob", "ellipse", "bar", "face")


def occlude(image: np.ndarray, mask: np.ndarray, donor: np.ndarray, donor_mask: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`image` (float32 SxSx3 0..1) with one obstruction over its face, and `mask` (float32
    SxS 0..1) without what it covers. `donor` (another face, same size) lends its texture or
    its outline."""
    size = image.shape[0]
    alpha = _shape(rng.choice(SHAPES), size, _anchor(mask, rng), donor_mask, rng)
    if rng.random() < 0.7:
        alpha = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(0.5, 1.5))  # antialiased edge
    tex = _texture(size, donor, rng)
    a = alpha[..., None]
    return image * (1 - a) + tex * a, mask * (1 - alpha)


def _anchor(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A point on the face (inside the mask), where the obstruction is centred."""
    ys, xs = np.nonzero(mask > 0.5)
    if not len(xs):
        return np.array([mask.shape[1] / 2, mask.shape[0] / 2])
    k = rng.integers(len(xs))
    return np.array([xs[k], ys[k]], np.float64)


def _shape(kind: str, size: int, at: np.ndarray, donor_mask: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    alpha = np.zeros((size, size), np.float32)
    if kind == "blob":  # star-shaped polygon: hands, fists, objects
        n = int(rng.integers(5, 13))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = size * rng.uniform(0.12, 0.35) * rng.uniform(0.55, 1.0, n)
        pts = at + np.stack([np.cos(ang) * rad, np.sin(ang) * rad], 1)
        cv2.fillPoly(alpha, [np.round(pts).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
    elif kind == "ellipse":
        axes = (int(size * rng.uniform(0.06, 0.3)), int(size * rng.uniform(0.06, 0.3)))
        cv2.ellipse(alpha, (int(at[0]), int(at[1])), axes, float(rng.uniform(0, 180)), 0, 360,
                    1.0, -1, lineType=cv2.LINE_AA)
    elif kind == "bar":  # a finger, a microphone, a pen: a thick line through the point
        ang = rng.uniform(0, np.pi)
        d = np.array([np.cos(ang), np.sin(ang)]) * size * rng.uniform(0.3, 1.0)
        a0, a1 = at - d * rng.uniform(0, 1), at + d * rng.uniform(0, 1)
        cv2.line(alpha, tuple(np.round(a0).astype(int)), tuple(np.round(a1).astype(int)), 1.0,
                 max(2, int(size * rng.uniform(0.04, 0.14))), lineType=cv2.LINE_AA)
    else:  # another face's outline moved over this one: a head in front
        m = np.asarray(donor_mask, np.float32)
        shift = at - np.array([size / 2, size / 2]) + rng.normal(0, size * 0.15, 2)
        mat = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
        alpha = cv2.warpAffine(m, mat, (size, size))
    return np.clip(alpha, 0, 1)


def _texture(size: int, donor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """float32 SxSx3: a moved piece of the donor face, or a flat or graded colour, with noise."""
    if rng.random() < 0.5:
        ang, scale = rng.uniform(-180, 180), rng.uniform(0.8, 2.5)
        mat = cv2.getRotationMatrix2D((size / 2, size / 2), ang, scale)
        mat[:, 2] += rng.uniform(-size / 3, size / 3, 2)
        tex = cv2.warpAffine(donor, mat, (size, size), borderMode=cv2.BORDER_REFLECT)
        tex = tex * rng.uniform(0.6, 1.3, 3).astype(np.float32)
    else:
        c0, c1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        if rng.random() < 0.4:  # black, grey, white objects: microphones, phones, cups
            c0 = rng.uniform(0, 1) + rng.uniform(-0.06, 0.06, 3)
            c1 = c0 + rng.uniform(-0.15, 0.15)
        t = np.linspace(0, 1, size, dtype=np.float32)
        ramp = t[None, :, None] if rng.random() < 0.5 else t[:, None, None]
        tex = (c0 + (c1 - c0) * ramp * rng.uniform(0, 1)) * np.ones((size, size, 3), np.float32)
    tex = tex + rng.normal(0, rng.uniform(0, 0.06), (size, size, 3))
    return np.clip(tex, 0, 1).astype(np.float32)
