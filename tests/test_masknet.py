"""The obstruction-aware mask network (merge's FAN mask modes): synthetic obstructions, the
network's files, training that learns to leave obstructions out, and the FAN modes in merge.

The network is trained once per module as a user trains it, on the project's own faces: the src
sample faces (several people) and every other dst face; it is measured on the dst faces it did
not see (with made-up obstructions) and on a dst frame with a real object pasted over the mouth.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.extract.align import face_matrix, transform_points
from app.masknet import net as masknet
from app.masknet import training
from app.masknet.occluders import SHAPES, _shape, occlude
from app.merge.compose import PredictedFace, merge_frame
from app.merge.dst_inputs import faces_by_frame, list_frames
from app.merge.engine import crop_faces, merge_frames, predict_faces
from app.merge.fan_masks import FanMasker
from app.merge.options import MergeOptions
from app.merge.predictors import ColorShiftPredictor
from tests.conftest import MEDIA, engine_params

SRC = MEDIA / "merge" / "src_faces"
DST = MEDIA / "merge" / "dst"
RES = 64


@pytest.fixture(scope="module")
def src_data():
    return training.load_faces([SRC], RES, "full")


@pytest.fixture(scope="module")
def dst_data():
    return training.load_faces([DST / "aligned"], RES, "full")


def _split(src_data, dst_data):
    """(training faces: src + odd dst faces, held-out faces: even dst faces)."""
    held = np.arange(len(dst_data)) % 2 == 0
    train = training.MaskData(np.concatenate([src_data.images, dst_data.images[~held]]),
                              np.concatenate([src_data.masks, dst_data.masks[~held]]),
                              np.zeros(len(src_data) + int((~held).sum()), bool))
    return train, dst_data.subset(held)


@pytest.fixture(scope="module")
def trained(src_data, dst_data):
    """~90 s on 2 cores."""
    return training.train(_split(src_data, dst_data)[0], RES, "full", steps=1000)


class OnesNet(masknet.MaskNet):
    """A stand-in network that keeps everything: shows where the FAN modes put its masks."""

    def __init__(self, resolution: int = 64, face_type: str = "full") -> None:
        super().__init__(None, resolution, face_type)

    def predict(self, faces, batch=16):
        return np.ones(np.asarray(faces).shape[:3], np.float32)


# ------------------------------------------------------------------ synthetic obstructions

@pytest.mark.parametrize("kind", SHAPES)
def test_each_shape_covers_part_of_the_face(kind, src_data):
    rng = np.random.default_rng(3)
    mask = src_data.masks[0].astype(np.float32) / 255
    centre = np.array([RES / 2, RES / 2])
    covered = [(_shape(kind, RES, centre, src_data.masks[1] / 255, rng) * mask).sum()
               for _ in range(5)]
    assert min(covered) > 5  # centred on the face: always covers some of it


def test_occlude_changes_the_image_only_where_it_removes_the_mask(src_data):
    rng = np.random.default_rng(0)
    img = src_data.images[0].astype(np.float32) / 255
    mask = src_data.masks[0].astype(np.float32) / 255
    donor, donor_mask = src_data.images[1] / 255, src_data.masks[1] / 255
    for _ in range(20):
        o_img, o_mask = occlude(img, mask, donor.astype(np.float32), donor_mask, rng)
        assert o_img.shape == img.shape and o_mask.shape == mask.shape
        assert (o_mask <= mask + 1e-6).all()
        lost = (mask - o_mask) > 0.05
        assert lost.sum() > 0, "an obstruction always overlaps the face"
        changed = np.abs(o_img - img).max(2) > 0.02
        # what the mask lost is (mostly) where the image changed: the obstruction is visible
        assert (changed & lost).sum() >= 0.8 * lost.sum()


# ------------------------------------------------------------------ the network and its files

def test_predict_takes_any_size_and_files_round_trip(tmp_path):
    net, eng = masknet.build(8)
    model = masknet.MaskNet(net, 64, "half", 8, 4, {"steps": 0}, eng)
    faces = np.random.default_rng(0).random((3, 100, 100, 3), np.float32)
    out = model.predict(faces)
    assert out.shape == (3, 100, 100) and out.min() >= 0 and out.max() <= 1
    model.save(tmp_path)
    loaded = masknet.load(tmp_path)
    assert (loaded.resolution, loaded.face_type, loaded.channels) == (64, "half", 8)
    assert np.array_equal(loaded.predict(faces), out)
    assert masknet.load(tmp_path / "none") is None


def test_damaged_network_file_is_a_user_error_naming_it(tmp_path):
    net, eng = masknet.build(8)
    masknet.MaskNet(net, 64, "full", 8, 4, {}, eng).save(tmp_path)
    (tmp_path / masknet.WEIGHTS_NAME).write_bytes(b"not safetensors")
    with pytest.raises(UserError, match="delete masknet.safetensors") as e:
        masknet.load(tmp_path)
    assert str(tmp_path) in str(e.value)


def test_resolution_must_fit_the_network(tmp_path):
    with pytest.raises(UserError, match="multiple of 32"):
        training.train_from_facesets([SRC], tmp_path, resolution=100, steps=1)


def test_labelled_faces_are_drawn_more_often(src_data):
    data = training.MaskData(src_data.images[:4], src_data.masks[:4],
                             np.array([True, False, False, False]))
    rng = np.random.default_rng(0)
    w = np.where(data.labelled, training.LABELLED_WEIGHT, 1.0)
    picks = rng.choice(len(data), 4000, p=w / w.sum())
    share = (picks == 0).mean()
    assert abs(share - training.LABELLED_WEIGHT / (training.LABELLED_WEIGHT + 3)) < 0.03


# ------------------------------------------------------------------ training

def test_training_learns_to_leave_obstructions_out(trained, src_data, dst_data):
    """On held-out faces: keeps the visible face, leaves out a good part of what covers it (the
    landmark hull leaves out none of it), clean faces close to their hull."""
    report = training.evaluate(trained, _split(src_data, dst_data)[1], variants=3)
    assert report["iou_clean"] > 0.8, report
    assert report["visible_kept"] > 0.75, report
    assert report["obstruction_left_out"] > 0.25, report
    assert trained.info["final_loss"] < 1.0


@pytest.mark.slow
def test_longer_training_beats_the_hull_on_obstructed_faces(src_data, dst_data):
    train, held = _split(src_data, dst_data)
    report = training.evaluate(training.train(train, RES, "full", steps=3000), held, variants=3)
    assert report["iou_obstructed"] > report["iou_obstructed_hull"], report
    assert report["iou_clean"] > 0.85 and report["obstruction_left_out"] > 0.4, report


# ------------------------------------------------------------------ FAN mask modes in merge

def _occluded_sample(fill, frame_index: int = 2):
    """A dst frame (its face held out of training) with a box pasted across the mouth (a
    microphone): `fill` is a BGR colour or "background" (a piece of the frame's background);
    returns the frame, its landmarks and the box's pixels."""
    frames = list_frames(DST)
    frame = cv2.imread(str(frames[frame_index]))
    lms = faces_by_frame(DST / "aligned")[frames[frame_index].name]
    mouth = lms[0][48:68]
    (x0, y0), (x1, y1) = mouth.min(0).astype(int) - 6, mouth.max(0).astype(int) + 4
    bar = np.zeros(frame.shape[:2], bool)
    bar[y0:y1, x0:x1] = True
    if fill == "background":  # the top-left corner of the frame: no face there
        frame[y0:y1, x0:x1] = frame[:y1 - y0, :x1 - x0].copy()
    else:
        frame[bar] = fill
    return frame, lms, bar


def _alpha(frame, lms, mode, masker=None):
    pred = ColorShiftPredictor(128, "full")
    f, m = predict_faces(pred, crop_faces(frame, lms, 128, "full"), masker=masker,
                         landmarks=np.stack(lms))
    faces = [PredictedFace(lms[0], f[0], m[0])]
    opts = MergeOptions(mode="overlay", export_alpha=True, mask_mode=mode).validate()
    return merge_frame(frame, faces, opts, "full").image[..., 3]


@pytest.mark.parametrize("fill", [(0, 200, 0), (20, 20, 20), (200, 60, 40), "background"])
def test_fan_dst_leaves_out_what_covers_the_dst_face(trained, fill):
    frame, lms, bar = _occluded_sample(fill)
    hull = _alpha(frame, lms, "dst")
    fan = _alpha(frame, lms, "FAN-dst", FanMasker(trained, "FAN-dst", 128, "full"))
    inner = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillConvexPoly(inner, cv2.convexHull(np.round(lms[0][17:48]).astype(np.int32)), 1)
    inner = cv2.erode(inner, np.ones((7, 7), np.uint8)).astype(bool) & ~bar
    assert hull[bar].mean() > 0.9             # the hull covers the microphone
    assert fan[bar].mean() < 0.5              # the network leaves most of it out
    assert fan[inner].mean() > 0.8            # and keeps the visible face


def test_fan_modes_multiply_their_masks():
    rng = np.random.default_rng(0)
    frames = list_frames(DST)
    frame = cv2.imread(str(frames[0]))
    lms = np.stack(faces_by_frame(DST / "aligned")[frames[0].name])
    crops = crop_faces(frame, list(lms), 64, "full")
    prd = np.clip(crops + 0.2, 0, 1)
    learned = rng.random((1, 64, 64)).astype(np.float32)

    class Halves(OnesNet):  # left half for the dst face, right half for the predicted one
        def predict(self, faces, batch=16):
            out = np.zeros(np.asarray(faces).shape[:3], np.float32)
            is_prd = np.abs(faces - prd).max() < 1e-6
            out[:, :, 32:] = 1 if is_prd else 0
            out[:, :, :32] = 0 if is_prd else 1
            out[:, 20:44] += 0.5
            return np.clip(out, 0, 1)

    net = Halves()
    masks = {m: FanMasker(net, m, 64, "full")(crops, prd, learned, lms)[0]
             for m in ("FAN-prd", "FAN-dst", "FAN-prd*FAN-dst", "learned*FAN-prd*FAN-dst")}
    assert masks["FAN-prd"][:, 40:].mean() > 0.99 and masks["FAN-prd"][:10, :20].max() == 0
    assert masks["FAN-dst"][:, :20].mean() > 0.99 and masks["FAN-dst"][:10, 40:].max() == 0
    both = masks["FAN-prd"] * masks["FAN-dst"]
    assert np.allclose(masks["FAN-prd*FAN-dst"], both)
    assert np.allclose(masks["learned*FAN-prd*FAN-dst"], both * learned[0])
    assert masks["FAN-prd*FAN-dst"][20:44].mean() > 0.4  # where both keep the face


def test_network_of_another_face_type_is_warped_through_the_landmarks():
    """A half-face network on a full-face model: its mask lands on the half-face square inside
    the full-face crop (the ones-network shows where), nothing outside it."""
    frames = list_frames(DST)
    frame = cv2.imread(str(frames[0]))
    lm = faces_by_frame(DST / "aligned")[frames[0].name][0]
    crops = crop_faces(frame, [lm], 128, "full")
    out = FanMasker(OnesNet(64, "half"), "FAN-dst", 128, "full")(crops, crops, None,
                                                                  np.stack([lm]))[0]
    # the half-face square's corners, mapped into the full-face crop
    half_to_frame = np.array([[0, 0], [64, 0], [64, 64], [0, 64]], float)
    corners = transform_points(transform_points(half_to_frame, face_matrix(lm, 64, "half"),
                                                invert=True), face_matrix(lm, 128, "full"))
    expected = np.zeros((128, 128), np.uint8)
    cv2.fillConvexPoly(expected, np.round(corners).astype(np.int32), 1)
    got = out > 0.5
    iou = (got & expected.astype(bool)).sum() / (got | expected.astype(bool)).sum()
    assert 0.2 < expected.mean() < 0.8 and iou > 0.95


def test_merge_run_with_a_fan_mode_and_without_the_network(tmp_path, trained):
    import shutil

    dst = tmp_path / "data_dst"
    shutil.copytree(DST, dst)
    args = (list_frames(dst), faces_by_frame(dst / "aligned"))
    opts = MergeOptions(mode="overlay", mask_mode="FAN-prd*FAN-dst")
    with pytest.raises(UserError, match="mask network"):
        merge_frames(*args, dst / "merged", ColorShiftPredictor(128), opts, workers=0)
    assert not (dst / "merged").exists()
    masker = FanMasker(trained, opts.mask_mode, 128, "full")
    stats = merge_frames(*args, dst / "merged", ColorShiftPredictor(128), opts, workers=0,
                         batch_size=3, inference_threads=2, masker=masker)
    assert (stats.merged, stats.faces) == (7, 7)
    plain = merge_frames(*args, dst / "plain", ColorShiftPredictor(128),
                         MergeOptions(mode="overlay"), workers=0)
    differ = [np.abs(cv2.imread(str(a)).astype(int) - cv2.imread(str(b))).max() > 30
              for a, b in zip(stats.written, plain.written)]
    assert sum(differ) >= 6  # the FAN masks change the merged faces


def test_stopped_training_resumes_where_it_was(src_data, tmp_path):
    """A run stopped after step 4 goes on from its checkpoint and ends with the weights an
    unbroken run gets; other settings start over."""
    from backends.checkpoint import load_state

    data = src_data.subset(np.arange(6))
    kw = dict(steps=6, batch=2, channels=8, save_every=2)
    whole = training.train(data, RES, "full", **kw)

    def stop_after_4(step, loss):
        if step == 4:
            raise KeyboardInterrupt

    ckpt = tmp_path / "masknet_training"
    with pytest.raises(KeyboardInterrupt):
        training.train(data, RES, "full", progress=stop_after_4, checkpoint_dir=ckpt, **kw)
    assert json_step(ckpt) == 4
    resumed = training.train(data, RES, "full", checkpoint_dir=ckpt, **kw)
    assert resumed.info["resumed_at"] == 4
    whole.save(tmp_path / "whole")
    resumed.save(tmp_path / "resumed")
    a, b = (load_state(tmp_path / d / masknet.WEIGHTS_NAME)[0] for d in ("whole", "resumed"))
    assert a.keys() == b.keys()
    for k in a:
        assert np.allclose(a[k], b[k], atol=1e-6), k
    other = training.train(data, RES, "full", checkpoint_dir=ckpt, **dict(kw, batch=3))
    assert other.info["resumed_at"] == 0


def test_a_checkpoint_of_the_torch_nn_version_starts_over(src_data, tmp_path):
    """Its state.json (no format) with the same settings: training starts from step 0 instead
    of mixing fresh optimizer state with a late step."""
    import json

    data = src_data.subset(np.arange(4))
    kw = dict(steps=3, batch=2, channels=8, save_every=1)
    ckpt = tmp_path / "masknet_training"
    with pytest.raises(KeyboardInterrupt):
        training.train(data, RES, "full", checkpoint_dir=ckpt, progress=_stop_at(2), **kw)
    note = json.loads((ckpt / "state.json").read_text())
    assert note["step"] == 2
    (ckpt / "state.json").write_text(json.dumps({"step": 2, "settings": note["settings"]}))
    assert training.train(data, RES, "full", checkpoint_dir=ckpt, **kw).info["resumed_at"] == 0


def _stop_at(n: int):
    def progress(step, loss):
        if step == n:
            raise KeyboardInterrupt
    return progress


def json_step(folder) -> int:
    import json

    return json.loads((folder / "state.json").read_text())["step"]


# ------------------------------------------------------------------ engines and older files

# OpenCL: slow, its first run compiles the U-Net's kernels (~140-190 s on 2 cores; 9 s cached)
@pytest.mark.parametrize("engine_case", engine_params(slow_opencl=True), indirect=True)
def test_trains_on_either_engine_and_the_chosen_device(engine_case, src_data, tmp_path):
    """The network is written on the engine layer API: a few steps on torch (on the device
    chosen) or on OpenCL (PoCL here) bring its masks closer to the faces' masks, and the saved
    file loads on torch with the same masks out."""
    engine, device = engine_case
    data = training.load_faces([SRC], 32, "full")
    faces, masks = data.images[:6].astype(np.float32) / 255, data.masks[:6] / 255

    def error(steps: int):
        model = training.train(data, 32, "full", steps=steps, batch=4, channels=4, lr=1e-2,
                               engine=engine, device=device)
        return model, float(np.abs(model.predict(faces) - masks).mean())

    _, before = error(0)
    model, after = error(10)
    assert model.engine.name == engine and model.info["engine"] == engine
    if device is not None:
        assert str(model.engine.device) == device
    assert after < 0.9 * before, (before, after)
    model.save(tmp_path)
    again = masknet.load(tmp_path, "torch", "cpu")
    assert np.abs(again.predict(faces) - model.predict(faces)).max() < 0.02


def test_files_of_the_torch_nn_version_load_with_the_same_masks():
    """tests/media/masknet_torchnn was saved by the torch.nn network (before the layer API),
    with its masks of two faces: the same parameter names, the same masks (bf16 on a CPU that
    has it: within 0.01)."""
    from backends.checkpoint import load_state

    folder = MEDIA / "masknet_torchnn"
    expected = load_state(folder / "expected.safetensors")[0]
    model = masknet.load(folder, "torch", "cpu")
    assert (model.resolution, model.channels) == (32, 4)
    assert np.abs(model.predict(expected["faces"]) - expected["masks"]).max() < 0.01


def test_a_file_of_another_shape_says_to_retrain(tmp_path):
    import shutil

    shutil.copytree(MEDIA / "masknet_torchnn", tmp_path, dirs_exist_ok=True)
    info = json.loads((tmp_path / masknet.INFO_NAME).read_text())
    (tmp_path / masknet.INFO_NAME).write_text(json.dumps(dict(info, channels=8)))
    with pytest.raises(UserError, match="does not match.*mask train") as e:
        masknet.load(tmp_path)
    assert str(tmp_path) in str(e.value) and len(str(e.value).splitlines()) == 1
