"""DeepFaceLab 2.0's blur/sharpen merge option: a soft predicted face comes out crisper (or
softer with a negative amount), only inside the face, and a bad combination is one clear error."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.merge.compose import merge_frame
from app.merge.options import MergeOptions
from app.merge.sharpen import blur_sharpen
from app.quality.sharpness import laplacian_variance
from tests.test_merge import face_hull, sample  # noqa: F401  (sample is a fixture)


def soft(sample):  # noqa: F811
    """The stand-in prediction blurred like a young model's face."""
    frame, faces = sample
    return frame, [replace(faces[0], face=cv2.GaussianBlur(faces[0].face, (0, 0), 1.5))]


def merged(sample, **kw) -> np.ndarray:  # noqa: F811
    frame, faces = soft(sample)
    opts = MergeOptions(mode="overlay", **kw).validate()
    return merge_frame(frame, faces, opts, "full").image[..., :3]


def detail(img: np.ndarray, where: np.ndarray) -> float:
    return laplacian_variance(np.clip(img * 255, 0, 255).astype(np.uint8), where)


def test_sharpen_brings_back_detail_and_blur_takes_it_away(sample):  # noqa: F811
    inside = face_hull(sample)
    plain = detail(merged(sample), inside)
    gauss = detail(merged(sample, sharpen_mode="gaussian", blursharpen_amount=4), inside)
    box = detail(merged(sample, sharpen_mode="box", blursharpen_amount=4), inside)
    blurred = detail(merged(sample, blursharpen_amount=-20), inside)
    assert gauss > 1.25 * plain and box > gauss      # box's kernel is the stronger one
    assert blurred < 0.9 * plain


def test_sharpen_leaves_the_frame_outside_the_face_alone(sample):  # noqa: F811
    a, b = merged(sample), merged(sample, sharpen_mode="box", blursharpen_amount=10)
    assert np.array_equal(a[:20], b[:20])
    assert np.abs(a - b)[face_hull(sample)].mean() > 0.005


def test_amount_steps_follow_deepfacelab():
    rng = np.random.default_rng(0)
    face = cv2.GaussianBlur(rng.random((64, 64, 3)).astype(np.float32), (0, 0), 1.0)
    assert np.array_equal(blur_sharpen(face, "none", 0), face)
    assert np.array_equal(blur_sharpen(face, "none", 30), face)   # sharpening needs a mode
    g = cv2.GaussianBlur(face, (3, 3), 0)
    np.testing.assert_allclose(blur_sharpen(face, "gaussian", 1),
                               np.clip(1.5 * face - 0.5 * g, 0, 1), atol=1e-6)
    # -10 is one whole 5x5 median pass, -5 half of one
    one = cv2.medianBlur(np.round(face * 255).astype(np.uint8), 5).astype(np.float32) / 255
    np.testing.assert_allclose(blur_sharpen(face, "box", -10), one, atol=1e-6)
    np.testing.assert_allclose(blur_sharpen(face, "box", -5), 0.5 * face + 0.5 * one, atol=1e-6)


def test_sharpen_without_a_mode_is_a_clear_error():
    with pytest.raises(UserError, match="--sharpen-mode"):
        MergeOptions(blursharpen_amount=20).validate()
    with pytest.raises(UserError):
        MergeOptions(sharpen_mode="gaussian", blursharpen_amount=101).validate()
    MergeOptions(blursharpen_amount=-20).validate()   # blurring needs none
