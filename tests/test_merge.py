"""Merge on real dst frames (GRID talker, dlib-aligned faces): each mode and option changes the
output the way it should. The predictor is the colour-shift stand-in (merge needs no trained
model for its own behaviour); tests/test_merge_model.py runs a trained tiny model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.extract.align import face_matrix, transform_points
from app.merge.compose import PredictedFace, merge_frame
from app.merge.dst_inputs import faces_by_frame, list_frames
from app.merge.engine import crop_faces, predict_faces
from app.merge.options import MergeOptions
from app.merge.predictors import ColorShiftPredictor
from tests.conftest import MEDIA

DST = MEDIA / "merge" / "dst"
PRED = ColorShiftPredictor(128, "full")


@pytest.fixture(scope="module")
def sample():
    frames = list_frames(DST)
    faces = faces_by_frame(DST / "aligned")
    frame = cv2.imread(str(frames[2]))
    lms = faces[frames[2].name]
    f, m = predict_faces(PRED, crop_faces(frame, lms, 128, "full"))
    return frame, [PredictedFace(lms[0], f[0], m[0])]


def run(sample, **kw) -> np.ndarray:
    frame, faces = sample
    return merge_frame(frame, faces, MergeOptions(**kw).validate(), "full").image


def face_hull(sample) -> np.ndarray:
    frame, faces = sample
    m = np.zeros(frame.shape[:2], np.uint8)
    # the inner face (brows to mouth): inside every mask mode's mask
    hull = cv2.convexHull(np.round(faces[0].landmarks[17:]).astype(np.int32))
    cv2.fillConvexPoly(m, hull, 1)
    return cv2.erode(m, np.ones((5, 5), np.uint8)).astype(bool)


def alpha_area(img: np.ndarray) -> int:
    return int((img[..., 3] > 0.5).sum())


def test_overlay_replaces_the_face_and_keeps_the_background(sample):
    frame = sample[0].astype(np.float32) / 255
    out = run(sample, mode="overlay")
    inside = face_hull(sample)
    assert np.abs(out - frame)[inside].mean() > 0.05
    assert np.array_equal(out[:20], frame[:20])  # far from the face: untouched
    # the stand-in shifts blue up and red down: the pasted face shows it
    d = (out - frame)[inside].mean(0)
    assert d[0] > 0.08 and d[2] < -0.05


def test_erode_shrinks_the_mask_area(sample):
    areas = [alpha_area(run(sample, mode="overlay", export_alpha=True, erode_mask_modifier=e))
             for e in (-100, 0, 100, 200)]
    assert areas[0] > areas[1] > areas[2] > areas[3]


def test_blur_widens_the_soft_edge(sample):
    soft = []
    for b in (0, 100, 200):
        a = run(sample, mode="overlay", export_alpha=True, blur_mask_modifier=b)[..., 3]
        soft.append(int(((a > 0.02) & (a < 0.98)).sum()))
    assert soft[0] < soft[1] < soft[2]


def test_face_scale_changes_the_pasted_area(sample):
    areas = [alpha_area(run(sample, mode="overlay", export_alpha=True, output_face_scale=s))
             for s in (-30, 0, 30)]
    assert areas[0] < areas[1] < areas[2]
    assert areas[2] / areas[1] == pytest.approx(1.3 ** 2, rel=0.15)


def _lab_mean(img, where):
    return cv2.cvtColor(img[..., :3].astype(np.float32), cv2.COLOR_BGR2LAB)[where].mean(0)


@pytest.mark.parametrize("ct", ["rct", "lct", "mkl", "idt", "sot"])
def test_color_transfer_moves_face_colour_to_dst(sample, ct):
    frame = sample[0].astype(np.float32) / 255
    inside = face_hull(sample)
    dst_m = _lab_mean(frame, inside)
    plain = run(sample, mode="overlay")
    moved = run(sample, mode="overlay", color_transfer=ct)
    assert (np.abs(_lab_mean(moved, inside) - dst_m).sum()
            < 0.3 * np.abs(_lab_mean(plain, inside) - dst_m).sum())
    # seamless already takes dst's colour at the edge; the transfer runs after it, still close
    s_plain = run(sample, mode="seamless")
    s_moved = run(sample, mode="seamless", color_transfer=ct)
    assert np.abs(s_moved - s_plain)[inside].mean() > 0.001
    assert np.abs(_lab_mean(s_moved, inside) - dst_m).sum() < 1.5


def _w1(a, b):
    return float(np.abs(np.sort(a.ravel()) - np.sort(b.ravel())).mean())


@pytest.mark.parametrize("mode", ["hist-match", "hist-match-bw"])
def test_hist_match_changes_histograms_towards_dst(sample, mode):
    frame = sample[0].astype(np.float32) / 255
    inside = face_hull(sample)
    plain = run(sample, mode="overlay")
    matched = run(sample, mode=mode)
    for c in range(3):
        assert (_w1(matched[..., c][inside], frame[..., c][inside])
                < 0.6 * _w1(plain[..., c][inside], frame[..., c][inside]))
    lower = run(sample, mode=mode, hist_match_threshold=100)
    assert lower[inside].mean() < matched[inside].mean() - 0.03
    unmasked = run(sample, mode=mode, masked_hist_match=False)
    assert np.abs(unmasked - matched)[inside].mean() > 0.001  # background counted: differs


def test_hist_match_bw_differs_from_colour_hist_match(sample):
    inside = face_hull(sample)
    assert np.abs(run(sample, mode="hist-match-bw") - run(sample, mode="hist-match"))[inside].mean() > 0.005


def test_seamless_blends_the_edge(sample):
    frame = sample[0].astype(np.float32) / 255
    overlay = run(sample, mode="overlay")
    seamless = run(sample, mode="seamless")
    inside = face_hull(sample)
    # Poisson blending takes the boundary colour from dst: the colour shift mostly disappears
    assert (np.abs(seamless - frame)[inside].mean(0).sum()
            < 0.5 * np.abs(overlay - frame)[inside].mean(0).sum())
    shm = run(sample, mode="seamless", seamless_hist_match=True)
    assert np.abs(shm - seamless)[inside].mean() > 0.002


def test_suppress_seamless_jitter_is_close_to_plain_seamless(sample):
    a = run(sample, mode="seamless")
    b = run(sample, mode="seamless", suppress_seamless_jitter=True)
    diff = np.abs(a - b)[face_hull(sample)].mean()
    assert 0 < diff < 0.03


def test_alpha_export_has_transparent_background(sample):
    out = run(sample, mode="seamless", export_alpha=True)
    assert out.shape[2] == 4
    assert out[:20, :, 3].max() == 0 and out[-10:, :10, 3].max() == 0
    assert out[..., 3][face_hull(sample)].mean() > 0.95


def test_raw_modes_write_raw_layers(sample):
    frame = sample[0].astype(np.float32) / 255
    inside = face_hull(sample)
    rgb = run(sample, mode="raw", raw_mode="rgb")
    assert rgb.shape[2] == 3 and np.array_equal(rgb[:10], frame[:10])
    assert np.abs(rgb - frame)[inside].mean() > 0.05
    rgbm = run(sample, mode="raw", raw_mode="rgb-mask")
    assert rgbm.shape[2] == 4 and np.allclose(rgbm[..., :3], rgb)
    assert rgbm[..., 3][inside].mean() > 0.95 and rgbm[:10, ..., 3].max() == 0
    mask = run(sample, mode="raw", raw_mode="mask-only")
    assert np.allclose(mask[..., 0], rgbm[..., 3]) and mask[:10].max() == 0
    prd = run(sample, mode="raw", raw_mode="predicted-only")
    assert prd[:10].max() == 0 and np.allclose(prd[inside], rgb[inside])
    # raw ignores the blending settings: no colour transfer on the raw face
    assert np.array_equal(run(sample, mode="raw", raw_mode="rgb", erode_mask_modifier=100), rgb)


def test_dst_mask_mode_uses_the_landmark_hull(sample):
    learned = run(sample, mode="overlay", export_alpha=True)[..., 3] > 0.5
    dst = run(sample, mode="overlay", export_alpha=True, mask_mode="dst")[..., 3] > 0.5
    frame, faces = sample
    hull = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(faces[0].landmarks).astype(np.int32)), 1)
    iou = (dst & hull.astype(bool)).sum() / (dst | hull.astype(bool)).sum()
    assert iou > 0.9 and (learned != dst).sum() > 200


@pytest.mark.parametrize("field,value", [("erode_mask_modifier", 201), ("blur_mask_modifier", -1),
                                         ("blur_mask_modifier", 201),
                                         ("output_face_scale", 51), ("hist_match_threshold", 256),
                                         ("color_degrade_power", 101), ("mode", "blend"),
                                         ("color_transfer", "abc")])
def test_out_of_range_options_are_user_errors(field, value):
    with pytest.raises(UserError):
        MergeOptions(**{field: value}).validate()


def test_degrade_color_reduces_the_palette(sample):
    plain = run(sample, mode="overlay")
    full = run(sample, mode="overlay", color_degrade_power=100)
    half = run(sample, mode="overlay", color_degrade_power=50)
    n = lambda im: len(np.unique((im * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert n(full) <= 256 < n(plain)
    assert 0 < np.abs(half - plain).mean() < np.abs(full - plain).mean()


def test_debug_records_each_stage(sample):
    frame, faces = sample
    res = merge_frame(frame, faces, MergeOptions(mode="seamless", color_transfer="rct",
                                                 debug=True), "full")
    names = [n for n, _ in res.stages]
    for stage in ("dst_face", "predicted_face", "mask", "mask_eroded_blurred", "pasted",
                  "seamless", "seamless_color_rct", "result"):
        assert stage in names


def _dot_alpha(sample, face_type: str, scale: int = 0) -> np.ndarray:
    """Alpha of a predicted face whose mask is a dot on the outer corner of the left eye in
    the model's crop (off the crop's centre, where half and full crops differ)."""
    frame, faces = sample
    lm = faces[0].landmarks
    x, y = transform_points(lm[36:37], face_matrix(lm, 128, "full"))[0]
    mask = np.zeros((128, 128, 1), np.float32)
    cv2.circle(mask, (int(round(x)), int(round(y))), 6, 1.0, -1)
    face = PredictedFace(lm, faces[0].face, mask)
    opts = MergeOptions(mode="overlay", export_alpha=True, output_face_scale=scale).validate()
    return merge_frame(frame, [face], opts, face_type).image[..., 3]


def _blob(alpha: np.ndarray) -> tuple[np.ndarray, int]:
    ys, xs = np.nonzero(alpha > 0.5)
    return np.array([xs.mean(), ys.mean()]), len(xs)


def test_face_scale_uses_model_face_type_geometry(sample):
    """The predicted face goes back where the model's crop came from: a dot on the eye corner of
    the full-face crop lands on the frame's eye corner; pasted as a half face it would not; the
    output face scale grows it about the face."""
    eye = sample[1][0].landmarks[36]
    at, area = _blob(_dot_alpha(sample, "full"))
    assert np.linalg.norm(at - eye) < 1.5
    wrong, _ = _blob(_dot_alpha(sample, "half"))
    assert np.linalg.norm(wrong - eye) > 5
    _, area_big = _blob(_dot_alpha(sample, "full", scale=30))
    assert 1.3 ** 2 * 0.8 < area_big / area < 1.3 ** 2 * 1.25


def test_clip_hborder_cuts_the_mask_border_softly(sample):
    """DeepFaceLab's SAE full face: 1/16 of the face cut off the mask's left, right and bottom
    edges, blurred; the middle of the face stays."""
    frame, faces = sample
    lm = faces[0].landmarks
    full = PredictedFace(lm, faces[0].face, np.ones((128, 128, 1), np.float32))

    def alpha(per):
        opts = MergeOptions(mode="overlay", export_alpha=True, clip_hborder_mask_per=per)
        return merge_frame(frame, [full], opts.validate(), "full").image[..., 3]

    plain, clipped = alpha(None), alpha(0.0625)
    inv = cv2.invertAffineTransform(face_matrix(lm, 128, "full"))
    def at(x, y):  # face-crop point -> frame pixel
        fx, fy = inv @ np.array([x, y, 1.0])
        return int(round(fy)), int(round(fx))
    for pt in ((2, 64), (125, 64), (64, 125)):  # in the clipped band: left, right, bottom
        assert plain[at(*pt)] > 0.9 and clipped[at(*pt)] < 0.05
    assert plain[at(64, 2)] > 0.9 and clipped[at(64, 2)] > 0.4  # the top edge is not clipped
    assert clipped[at(64, 64)] == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(UserError):
        MergeOptions(clip_hborder_mask_per=0.6).validate()


def test_each_model_gives_its_merge_defaults(tmp_path):
    import json

    from app.merge.model_defaults import model_merge_defaults
    from app.models import model_class

    sae = model_class("SAE")
    assert sae.merge_defaults({"face_type": "f"}) == {"mode": "seamless",
                                                      "clip_hborder_mask_per": 0.0625}
    assert sae.merge_defaults({"face_type": "h"})["clip_hborder_mask_per"] == 0.0
    assert sae.merge_defaults({"face_type": "f", "face_style_power": 10.0})["mode"] == "overlay"
    for name in ("H64", "H128", "DF", "LIAEF128"):
        assert model_class(name).merge_defaults({}) == {"mode": "seamless",
                                                        "clip_hborder_mask_per": 0.0}
    from app.models.files import FORMAT

    (tmp_path / "SAE_data.json").write_text(json.dumps(
        {"format": FORMAT, "model": "SAE", "options": {"face_type": "f", "bg_style_power": 5.0},
         "general": {}, "iteration": 10, "seed": 1}))
    assert model_merge_defaults(tmp_path, "SAE") == {"mode": "overlay",
                                                     "clip_hborder_mask_per": 0.0625}
    assert model_merge_defaults(tmp_path / "none", None)["mode"] == "seamless"


def test_seamless_hist_match_honours_masked_hist_match(sample):
    masked = run(sample, mode="seamless", seamless_hist_match=True, masked_hist_match=True,
                 hist_match_threshold=200)
    whole = run(sample, mode="seamless", seamless_hist_match=True, masked_hist_match=False,
                hist_match_threshold=200)
    inside = face_hull(sample)
    assert np.abs(masked - whole)[inside].mean() > 0.002


@pytest.mark.parametrize("kw", [
    dict(mode="seamless", color_transfer="rct"), dict(mode="hist-match"),
    dict(mode="overlay", output_face_scale=-50, export_alpha=True),
    dict(mode="seamless", erode_mask_modifier=-200, blur_mask_modifier=200,
         clip_hborder_mask_per=0.0625),
    dict(mode="raw", raw_mode="rgb-mask"), dict(mode="raw", raw_mode="mask-only")])
@pytest.mark.parametrize("shift", [(0, 0), (-170, -170), (0, 90)])
def test_face_box_merge_writes_the_same_pixels_as_the_full_frame(sample, kw, shift):
    """merge_frame_u8 (what the workers write) works on the faces' box only: same pixels, also
    for a face cut by the frame's edge, on a frame larger than the box."""
    from app.merge.compose import merge_frame_u8
    from app.merge.label import to_uint8

    frame, faces = sample
    big = np.zeros((400, 640, 3), np.uint8)
    big[:288, :360] = frame
    lm = faces[0].landmarks + np.array(shift, float)
    f, m = predict_faces(PRED, crop_faces(big, [lm], 128, "full"))
    pf = [PredictedFace(lm, f[0], m[0])]
    opts = MergeOptions(**kw).validate()
    full = to_uint8(merge_frame(big, pf, opts, "full").image)
    assert np.array_equal(merge_frame_u8(big, pf, opts, "full"), full)
