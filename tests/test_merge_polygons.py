"""Mask-editor polygons stored in the aligned dst faces shape the merge mask (DeepFaceLab's
ie_polys): an exclude polygon keeps that part of the dst frame, an include polygon extends the
dst hull."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.extract.align import transform_points
from app.faceset.face_file import read_meta, update_meta
from app.merge.dst_inputs import dst_faces_by_frame, list_frames
from app.merge.engine import merge_frames
from app.merge.options import MergeOptions
from app.merge.predictors import ColorShiftPredictor
from tests.conftest import MEDIA

DST = MEDIA / "merge" / "dst"
FACE = "00003_0.jpg"


@pytest.fixture
def dst(tmp_path) -> Path:
    d = tmp_path / "data_dst"
    shutil.copytree(DST, d)
    return d


def mouth_polygon(meta, grow: float = 1.3) -> list:
    """The mouth's hull (landmarks 48..67) in aligned-image pixels, grown about its centre."""
    pts = transform_points(meta.source_landmarks_array()[48:68], meta.matrix())
    hull = cv2.convexHull(np.float32(pts))[:, 0, :].astype(np.float64)
    c = hull.mean(0)
    return ((hull - c) * grow + c).tolist()


def forehead_polygon(meta) -> list:
    """A box above the brows (outside the 68-point hull), in aligned-image pixels."""
    lm = meta.source_landmarks_array()
    top = lm[17:27, 1].min()
    box = np.array([[lm[19, 0], top - 30], [lm[24, 0], top - 30], [lm[24, 0], top - 8],
                    [lm[19, 0], top - 8]])
    return transform_points(box, meta.matrix()).tolist()


def set_polygons(dst: Path, polys: list, modes: list) -> None:
    path = dst / "aligned" / FACE
    meta = read_meta(path)
    update_meta(path, replace(meta, mask_polygons=polys, mask_polygon_modes=modes))


def merged_alpha(dst: Path, out: str, **kw) -> np.ndarray:
    stats = merge_frames(list_frames(dst), dst_faces_by_frame(dst / "aligned"), dst / out,
                         ColorShiftPredictor(128), MergeOptions(export_alpha=True, **kw),
                         workers=0, batch_size=4)
    return cv2.imread(str(stats.written[2]), cv2.IMREAD_UNCHANGED)


def region(dst: Path, points: np.ndarray, erode: int = 3) -> np.ndarray:
    """Frame pixels well inside the polygon given in frame pixels."""
    frame = cv2.imread(str(dst / "00003.jpg"))
    m = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(points).astype(np.int32)], 1)
    return cv2.erode(m, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8)).astype(bool)


def test_polygons_are_mapped_into_the_frame(dst):
    meta = read_meta(dst / "aligned" / FACE)
    lm = meta.source_landmarks_array()
    poly = transform_points(lm[48:60], meta.matrix()).tolist()
    set_polygons(dst, [poly], ["exclude"])
    face = dst_faces_by_frame(dst / "aligned")["00003.jpg"][0]
    assert face.polygon_modes == ["exclude"]
    assert np.abs(face.polygons[0] - lm[48:60]).max() < 1e-6


@pytest.mark.parametrize("mode", ["seamless", "overlay"])
@pytest.mark.parametrize("mask_mode", ["learned", "dst"])
def test_exclude_polygon_removes_its_area_from_the_blend(dst, mode, mask_mode):
    before = merged_alpha(dst, "before", mode=mode, mask_mode=mask_mode)
    meta = read_meta(dst / "aligned" / FACE)
    set_polygons(dst, [mouth_polygon(meta)], ["exclude"])
    after = merged_alpha(dst, "after", mode=mode, mask_mode=mask_mode)
    inner = region(dst, transform_points(np.array(mouth_polygon(meta)), meta.matrix(),
                                         invert=True))
    assert inner.sum() > 200
    assert before[..., 3][inner].min() == 255  # the mouth was blended...
    assert after[..., 3][inner].max() == 0     # ...and is now the dst frame's own
    frame = cv2.imread(str(dst / "00003.jpg"))
    assert np.array_equal(after[..., :3][inner], frame[inner])
    # the rest of the face is still swapped
    assert (after[..., 3] == 255).sum() > 0.8 * (before[..., 3] == 255).sum() - inner.sum()


def test_include_polygon_extends_the_dst_mask_and_a_later_exclude_wins(dst):
    meta = read_meta(dst / "aligned" / FACE)
    box = forehead_polygon(meta)
    inner = region(dst, transform_points(np.array(box), meta.matrix(), invert=True), erode=2)
    before = merged_alpha(dst, "before", mode="overlay", mask_mode="dst")
    set_polygons(dst, [box], ["include"])
    included = merged_alpha(dst, "included", mode="overlay", mask_mode="dst")
    set_polygons(dst, [box, box], ["include", "exclude"])
    cut = merged_alpha(dst, "cut", mode="overlay", mask_mode="dst")
    assert inner.sum() > 100
    assert before[..., 3][inner].max() == 0
    assert included[..., 3][inner].min() == 255
    assert cut[..., 3][inner].max() == 0
