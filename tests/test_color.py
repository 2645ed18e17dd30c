"""Colour transfer: each method moves the face's colour statistics to the target's."""

import cv2
import numpy as np
import pytest

from app import color_transfer as color
from tests.conftest import MEDIA


def _faces():
    a = cv2.imread(str(MEDIA / "merge/src_faces/london_002_03.jpg")).astype(np.float32) / 255
    b = cv2.imread(str(MEDIA / "merge/dst/aligned/00001_0.jpg")).astype(np.float32) / 255
    return cv2.resize(a, (128, 128)), cv2.resize(b, (128, 128))


def _lab_stats(img):
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).reshape(-1, 3)
    return lab.mean(0), lab.std(0)


def test_rct_moves_lab_mean_and_std_to_target():
    face, target = _faces()
    out = color.rct(face, target)
    m_out, s_out = _lab_stats(out)
    m_t, s_t = _lab_stats(target)
    m_in, _ = _lab_stats(face)
    assert np.abs(m_out - m_t).max() < 2.5 < np.abs(m_in - m_t).max()
    assert np.allclose(s_out, s_t, rtol=0.15, atol=1.0)


def test_rct_mask_limits_which_pixels_count():
    face, target = _faces()
    mask = np.zeros(face.shape[:2], np.float32)
    mask[40:90, 40:90] = 1
    a = color.rct(face, target, mask, mask)
    b = color.rct(face, target)
    assert np.abs(a - b).mean() > 0.005
    m_in = cv2.cvtColor(a, cv2.COLOR_BGR2LAB)[40:90, 40:90].reshape(-1, 3).mean(0)
    m_t = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)[40:90, 40:90].reshape(-1, 3).mean(0)
    assert np.abs(m_in - m_t).max() < 2.5


@pytest.mark.parametrize("fn", [color.lct, color.mkl])
def test_linear_transfers_match_mean_and_covariance(fn):
    face, target = _faces()
    out = fn(face, target).reshape(-1, 3).astype(np.float64)
    t = target.reshape(-1, 3).astype(np.float64)
    assert np.abs(out.mean(0) - t.mean(0)).max() < 0.02
    assert np.abs(np.cov(out.T) - np.cov(t.T)).max() < 0.15 * np.abs(np.cov(t.T)).max()


@pytest.mark.parametrize("name", ["idt", "sot"])
def test_distribution_transfers_move_the_distribution(name):
    face, target = _faces()
    out = color.color_transfer(name, face, target)
    before = sum(_w1(face[..., c], target[..., c]) for c in range(3))
    after = sum(_w1(out[..., c], target[..., c]) for c in range(3))
    assert after < 0.3 * before


def _w1(a, b):
    """1-D Wasserstein distance of two equal-size samples."""
    return float(np.abs(np.sort(a.ravel()) - np.sort(b.ravel())).mean())


def test_none_is_identity():
    face, target = _faces()
    assert color.color_transfer("none", face, target) is face


def test_hist_match_moves_histograms_and_threshold_darkens():
    face, target = _faces()
    out = color.hist_match(face, target, 255)
    for c in range(3):
        assert _w1(out[..., c], target[..., c]) < 0.25 * _w1(face[..., c], target[..., c])
    low = color.hist_match(face, target, 128)
    assert low.mean() < out.mean() - 0.05


def test_masked_hist_match_uses_only_masked_pixels():
    face, target = _faces()
    mask = np.zeros(face.shape[:2], np.float32)
    mask[30:100, 30:100] = 1
    masked = color.hist_match(face, target, 255, mask)
    inside = masked[30:100, 30:100]
    assert _w1(inside, target[30:100, 30:100]) < _w1(color.hist_match(face, target)[30:100, 30:100],
                                                     target[30:100, 30:100])


def test_reduce_colors_to_palette():
    face, _ = _faces()
    out = color.reduce_colors(face, 256)
    assert len(np.unique(out.reshape(-1, 3), axis=0)) <= 256
    assert np.abs(out - face).mean() < 0.03
