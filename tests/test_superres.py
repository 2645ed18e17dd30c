"""Super resolution trained on src faces beats bicubic on held-out faces; stored and applied."""

from __future__ import annotations


import numpy as np
import pytest

from app.errors import UserError
from app.merge import superres
from app.merge.engine import predict_faces
from app.merge.predictors import ColorShiftPredictor
from tests.conftest import MEDIA

SRC = MEDIA / "merge" / "src_faces"
HELD = ("lisa_lisa2.jpg", "london_003_03.jpg", "london_005_08.jpg")


@pytest.fixture(scope="module")
def trained():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core machine: oversubscribed threads are 20x slower
    paths = sorted(SRC.glob("*.jpg"))
    train_faces = superres.load_src_faces([p for p in paths if p.name not in HELD], 256)
    held = superres.load_src_faces([SRC / n for n in HELD], 256)
    try:
        model = superres.train(train_faces, steps=600, batch=8, patch=48)
    finally:
        torch.set_num_threads(threads)
    return model, held


def test_beats_bicubic_on_held_out_faces(trained):
    model, held = trained
    r = superres.evaluate(model, held)
    assert r["psnr_sr"] > r["psnr_bicubic"] + 0.15
    assert r["ssim_sr"] > r["ssim_bicubic"]


def test_metrics_are_sane():
    a = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    assert superres.psnr(a, a) == float("inf")
    assert superres.ssim(a, a) == pytest.approx(1.0)
    assert superres.ssim(a, np.clip(a + 0.2, 0, 1)) < 1.0


def test_saved_upscaler_loads_and_gives_the_same_faces(trained, tmp_path):
    model, held = trained
    model.info["size"] = 256
    model.save(tmp_path)
    again = superres.load(tmp_path)
    lr = np.stack([superres.downscale(f) for f in held])
    assert np.allclose(model.upscale(lr), again.upscale(lr), atol=1e-6)
    assert superres.load(tmp_path / "none") is None


def test_damaged_weights_are_a_user_error(trained, tmp_path):
    model, _ = trained
    model.save(tmp_path)
    (tmp_path / superres.WEIGHTS_NAME).write_bytes(b"broken")
    with pytest.raises(UserError, match="retrain"):
        superres.load(tmp_path)


def test_merge_applies_it_at_twice_the_model_resolution(trained):
    """Merge's faces are the upscaler's output on the predicted faces (not a resize of them),
    at twice the model's resolution, with the masks resized to match."""
    import cv2
    model, held = trained
    crops = np.stack([cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA) for f in held])
    predictor = ColorShiftPredictor(64)
    faces, masks = predict_faces(predictor, crops, upscaler=model)
    assert faces.shape == (3, 128, 128, 3) and masks.shape == (3, 128, 128)
    plain_faces, plain_masks = predict_faces(predictor, crops)
    np.testing.assert_allclose(faces, np.clip(model.upscale(plain_faces), 0, 1), atol=1e-5)
    bicubic = np.stack([cv2.resize(f, (128, 128), interpolation=cv2.INTER_CUBIC)
                        for f in plain_faces])
    assert np.abs(faces - bicubic).mean() > 50 * 1e-5   # the network, not a resize, gave them
    np.testing.assert_allclose(masks[:, ::2, ::2].mean(), plain_masks.mean(), atol=0.02)


def test_too_few_faces_is_a_user_error():
    with pytest.raises(UserError, match="src faces"):
        superres.train([np.zeros((64, 64, 3), np.float32)], steps=1)


def test_trains_on_either_engine_and_the_chosen_device(engine_case, tmp_path):
    """The upscaler is written on the engine layer API: a few steps on torch (on the device
    chosen) or on OpenCL (PoCL here) lower its error on the faces, and the saved file loads on
    torch with the same faces out."""
    engine, device = engine_case
    faces = superres.load_src_faces(sorted(SRC.glob("*.jpg"))[:4], 32)
    hr = np.stack(faces)
    lr = np.stack([superres.downscale(f) for f in faces])

    def error(steps: int):
        model = superres.train(faces, steps=steps, batch=4, patch=16, features=6, layers=3,
                               lr=1e-2, engine=engine, device=device)
        return model, float(np.abs(model.upscale(lr) - hr).mean())

    untrained, before = error(0)
    model, after = error(8)
    assert model.engine.name == engine and model.info["engine"] == engine
    if device is not None:
        assert str(model.engine.device) == device
    assert after < 0.95 * before, (before, after)
    model.save(tmp_path)
    again = superres.load(tmp_path, "torch", "cpu")
    assert np.abs(again.upscale(lr) - model.upscale(lr)).max() < 1e-3


class _Bicubic:
    """The upscaler's stand-in: a plain x2 bicubic resize (pixel centres kept, as the network's
    residual over it keeps them)."""

    def upscale(self, faces: np.ndarray) -> np.ndarray:
        return np.stack([superres.bicubic(f) for f in faces])


def test_an_upscaled_face_is_pasted_where_the_model_put_it():
    """A dst face passed through unchanged and upscaled x2 lands on itself in the frame: the
    pasted image's shift against the frame, by phase correlation, is a small fraction of a
    pixel. Placed at twice the model's matrix alone it sat half a pixel up and left."""
    import cv2
    from dataclasses import replace
    from app.merge.compose import PredictedFace, merge_frame
    from app.merge.dst_inputs import faces_by_frame, list_frames
    from app.merge.engine import crop_faces
    from app.merge.options import MergeOptions

    dst = MEDIA / "merge" / "dst"
    path = list_frames(dst)[2]
    frame = cv2.imread(str(path))
    lm = faces_by_frame(dst / "aligned")[path.name][0]
    same = ColorShiftPredictor(64, shift_bgr=(0, 0, 0), blur=0)
    faces, masks = predict_faces(same, crop_faces(frame, [lm], 64, "full"), upscaler=_Bicubic())
    opts = MergeOptions(mode="raw", raw_mode="rgb").validate()
    x0, y0 = np.floor(lm.min(0)).astype(int)
    x1, y1 = np.ceil(lm.max(0)).astype(int)

    def shift(face: PredictedFace) -> float:
        out = merge_frame(frame, [face], opts, "full").image[y0:y1, x0:x1, :3]
        a, b = (cv2.cvtColor(np.float32(x), cv2.COLOR_BGR2GRAY)
                for x in (out, frame[y0:y1, x0:x1] / 255))
        (dx, dy), _ = cv2.phaseCorrelate(np.float64(b), np.float64(a))
        return float(np.hypot(dx, dy))

    face = PredictedFace(lm, faces[0], masks[0], upscaled=2)
    assert shift(face) < 0.1
    assert shift(replace(face, upscaled=1)) > 0.3
