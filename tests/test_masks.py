"""Mask helpers: hull, DeepFaceLab's erode/blur modifiers, the Poisson mask."""

import numpy as np
import pytest

from app.merge import masks


def _ellipse_mask() -> np.ndarray:
    yy, xx = np.mgrid[0:200, 0:200]
    return (((xx - 100) / 60.0) ** 2 + ((yy - 100) / 80.0) ** 2 <= 1).astype(np.float32)


def test_hull_mask_covers_points_and_not_outside():
    pts = np.array([[20, 20], [80, 20], [80, 70], [20, 70], [50, 40]], float)
    m = masks.hull_mask((100, 100), pts)
    assert m[45, 50] == 1.0 and m[5, 5] == 0.0 and m[90, 90] == 0.0
    assert 0.9 * 60 * 50 < (m > 0.5).sum() < 1.1 * 60 * 50


def test_face_extent_is_the_smaller_side():
    assert masks.face_extent(_ellipse_mask()) == pytest.approx(120, abs=2)
    assert masks.face_extent(np.zeros((50, 50), np.float32)) == 0.0


@pytest.mark.parametrize("modifier", [50, 100, 200])
def test_erode_shrinks_and_negative_dilates(modifier):
    m = _ellipse_mask()
    area = (m > 0.5).sum()
    eroded = masks.erode_blur(m, modifier, 0)
    dilated = masks.erode_blur(m, -modifier, 0)
    assert (eroded > 0.5).sum() < area < (dilated > 0.5).sum()


def test_stronger_erode_shrinks_more():
    m = _ellipse_mask()
    areas = [(masks.erode_blur(m, e, 0) > 0.5).sum() for e in (0, 50, 100, 200)]
    assert areas == sorted(areas, reverse=True) and len(set(areas)) == 4


def test_blur_widens_the_soft_edge():
    m = _ellipse_mask()
    soft = [((b > 0.02) & (b < 0.98)).sum() for b in
            (masks.erode_blur(m, 0, v) for v in (0, 50, 100, 200))]
    assert soft == sorted(soft) and soft[0] < soft[1] < soft[3]
    assert np.array_equal(masks.erode_blur(m, 0, -100), m)  # negative blur: none (as in DFL)


def test_sizes_follow_the_face_size():
    assert masks.erode_size(200, 100) > masks.erode_size(100, 100) > 0
    assert masks.blur_size(200, 100) == 2 * masks.blur_size(100, 100)
    assert masks.erode_size(100, -100) < 0


def test_seamless_mask_binary_and_none_for_empty():
    soft = masks.erode_blur(_ellipse_mask(), 0, 100)
    hard = masks.seamless_mask(soft)
    assert hard.dtype == np.uint8 and set(np.unique(hard)) == {0, 255}
    assert masks.seamless_mask(np.zeros((10, 10), np.float32)) is None
