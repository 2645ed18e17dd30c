"""The face hull reaches over the whole of each eyebrow (DeepFaceLab 2.0's eyebrow lift), so a
swap does not leave dst's eyebrows showing above src's ("double eyebrows")."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.faceset.face_file import read_face
from app.faceset.landmarks import lift_eyebrows
from app.faceset.mask_polygons import hull_mask
from app.merge import masks

FACES = sorted(Path(__file__).parent.glob("media/train/*/*.jpg"))[::3]


def eyebrow_tops(gray: np.ndarray, lm: np.ndarray) -> list[tuple[int, int]]:
    """(x, row) per eyebrow point where the eyebrow ends going up its column: the first row
    brighter than half-way between the eyebrow (at the point) and the forehead one eye-to-brow
    gap above it."""
    gap = np.linalg.norm(lm[19] - lm[37])
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    tops = []
    for x, y in np.round(lm[17:27]).astype(int):
        col, top = smooth[:, x], max(0, int(y - gap))
        level = (col[y] + col[top:top + 3].mean()) / 2
        r = y
        while r > top and col[r] < level:
            r -= 1
        tops.append((x, r))
    return tops


def plain_hull(lm: np.ndarray, shape) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(out, cv2.convexHull(np.round(lm).astype(np.int32)), 1)
    return out


@pytest.mark.parametrize("path", FACES, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_hull_covers_the_eyebrows_up_to_their_top_edge(path):
    img, meta = read_face(path)
    lm = meta.landmarks_array()
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64)
    tops = eyebrow_tops(gray, lm)
    lifted = hull_mask(lm, gray.shape, 1, np.uint8)
    plain = plain_hull(lm, gray.shape)
    assert sum(lifted[r, x] for x, r in tops) == 10
    assert sum(plain[r, x] for x, r in tops) <= 8   # the hull through the points cuts them
    # the lift adds a strip above the brows, not a balloon: the rest of the outline is kept
    assert (lifted >= plain).all() and lifted.sum() < 1.2 * plain.sum()


def test_merge_and_training_masks_are_the_same_hull():
    img, meta = read_face(FACES[0])
    lm = meta.landmarks_array()
    train_mask = hull_mask(lm, img.shape[:2], 1.0, np.float32)
    merge_mask = masks.hull_mask(img.shape[:2], lm)
    assert np.abs((merge_mask > 0.5).astype(np.float32) - train_mask).mean() < 0.01


def test_lift_moves_only_the_eyebrows_and_scales_with_amount():
    _, meta = read_face(FACES[0])
    lm = meta.landmarks_array()
    one, two = lift_eyebrows(lm, 1.0), lift_eyebrows(lm, 2.0)
    moved = np.linalg.norm(one - lm, axis=1)
    assert (moved[17:27] > 0.5).all() and not moved[:17].any() and not moved[27:].any()
    assert (one[17:27, 1] < lm[17:27, 1]).all()   # upwards
    np.testing.assert_allclose(two - lm, 2 * (one - lm))
    np.testing.assert_array_equal(lift_eyebrows(lm[:5], 1.0), lm[:5])   # not 68 points
