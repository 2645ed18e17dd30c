"""The model predictor's fast paths for merge: cached bf16 weights and the skipped mask branch.

A small real model (H64, lightweight, random weights: inference does not care whether it was
trained) on the torch engine in bf16, so the cached-weight path is the one taken. Its weights
are doubled: at the initial scale the activations fade layer by layer and every output is
sigmoid(~0) = 0.5 in bf16, which would make the comparisons below trivially equal; biases get
random values, as a trained model's have.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.merge.dst_inputs import faces_by_frame, list_frames
from app.merge.engine import merge_frames, needs_learned_mask
from app.merge.options import MergeOptions
from tests.conftest import MEDIA

torch = pytest.importorskip("torch")


def make_predictor(name: str = "H64", options: dict | None = None):
    from app.models import model_class
    from app.models.predictor import Predictor
    from backends import get_engine

    from app.models.options import resolve

    cls = model_class(name)
    model = cls(resolve(cls.options_spec, {"lighter_ae": True} if options is None else options))
    eng = get_engine("torch", "cpu", precision="bf16")
    eng.init_params(model.specs, seed=0)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for w in eng.params.values():
            w.mul_(2.0)
            if w.dim() == 1:  # trained biases are not zero (an fp32 bias changes the rounding)
                w.add_(0.05 * torch.randn(w.shape, generator=gen))
    return Predictor(model, eng)


@pytest.fixture(scope="module")
def pred():
    return make_predictor()


@pytest.fixture
def faces(pred) -> np.ndarray:
    return np.random.default_rng(1).random((3, 64, 64, 3)).astype(np.float32)


def autocast_only(pred, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The engine's own path: fp32 weights cast by autocast on every call."""
    x = np.ascontiguousarray(faces.transpose(0, 3, 1, 2))
    face, mask = pred.engine.predict(pred.model.swap_fn, {"face": x})
    return face.transpose(0, 2, 3, 1), mask.transpose(0, 2, 3, 1)


def test_cached_bf16_weights_give_the_autocast_result(pred, faces):
    assert pred._weights is not None  # bf16 engine: the cached path is on
    want = autocast_only(pred, faces)
    assert want[0].std() > 0.05 and want[1].std() > 0.05
    for _ in range(2):  # the first call fills the cache, the second reads it
        got = pred.predict(faces)
        np.testing.assert_array_equal(got[0], np.clip(want[0], 0, 1))
        np.testing.assert_array_equal(got[1], np.clip(want[1], 0, 1))
    kept = [low for _, _, low in pred._weights._cache.values()]
    assert all(w.dtype == (torch.bfloat16 if w.dim() >= 2 else torch.float32) for w in kept)
    assert sum(w.dim() >= 2 for w in kept) > 10


@pytest.mark.parametrize("archi, extra", [("df", {"d_residual_blocks": True}),
                                          ("liae", {"d_residual_blocks": True}), ("vg", {})])
def test_cached_weights_match_autocast_on_sae(archi, extra):
    pred = make_predictor("SAE", {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21,
                                  "d_ch_dims": 11, "archi": archi, **extra})
    faces = np.random.default_rng(4).random((2, 64, 64, 3)).astype(np.float32)
    want = autocast_only(pred, faces)
    got = pred.predict(faces)
    np.testing.assert_array_equal(got[0], np.clip(want[0], 0, 1))
    np.testing.assert_array_equal(got[1], np.clip(want[1], 0, 1))


def test_a_changed_weight_is_cast_again():
    pred = make_predictor()
    faces = np.random.default_rng(2).random((2, 64, 64, 3)).astype(np.float32)
    before = pred.predict(faces)[0]
    with torch.no_grad():
        pred.engine.params["decoder_src.outs.0.bias"].add_(1.0)
    after = pred.predict(faces)[0]
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_array_equal(after, np.clip(autocast_only(pred, faces)[0], 0, 1))


def test_fp32_engine_uses_its_weights_as_they_are():
    from app.models import model_class
    from app.models.predictor import Predictor
    from backends import get_engine

    model = model_class("H64")({"lighter_ae": True})
    eng = get_engine("torch", "cpu", precision="fp32")
    eng.init_params(model.specs, seed=0)
    assert Predictor(model, eng)._weights is None


def test_skipped_mask_branch_same_faces_ones_mask_and_mask_decoder_unread(faces):
    pred = make_predictor()
    full = pred.predict(faces)
    face, mask = pred.predict(faces, need_mask=False)
    np.testing.assert_array_equal(face, full[0])
    assert mask.shape == full[1].shape and (mask == 1).all() and (full[1] < 1).any()
    assert pred.model.learn_mask  # the model itself keeps its mask branch

    fresh = make_predictor()
    fresh.predict(faces, need_mask=False)
    read = set(fresh._weights._cache)
    assert read and not any(n.startswith("decoder_srcm") for n in read)


@pytest.mark.parametrize("archi", ["df", "liae"])
def test_sae_skips_its_mask_branch_too(archi):
    pred = make_predictor("SAE", {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21,
                                  "d_ch_dims": 11, "archi": archi})
    faces = np.random.default_rng(3).random((2, 64, 64, 3)).astype(np.float32)
    full = pred.predict(faces)
    face, mask = pred.predict(faces, need_mask=False)
    np.testing.assert_array_equal(face, full[0])
    assert (mask == 1).all() and (full[1] < 1).any()


@pytest.mark.parametrize("opts, needed", [
    (MergeOptions(), True),
    (MergeOptions(mask_mode="dst"), False),
    (MergeOptions(mode="overlay", mask_mode="dst", export_alpha=True), False),
    (MergeOptions(mode="raw", raw_mode="rgb"), False),
    (MergeOptions(mode="raw", raw_mode="predicted-only"), False),
    (MergeOptions(mode="raw", raw_mode="rgb", debug=True), True),  # the debug mask stage
    (MergeOptions(mode="raw", raw_mode="rgb-mask"), True),
    (MergeOptions(mode="raw", raw_mode="mask-only"), True),
])
def test_which_settings_read_the_learned_mask(opts, needed):
    assert needs_learned_mask(opts) is needed


@pytest.fixture
def dst(tmp_path) -> Path:
    d = tmp_path / "data_dst"
    shutil.copytree(MEDIA / "merge" / "dst", d)
    return d


class Recording:
    """Wraps a predictor; records the need_mask of each call; `skips` sets skips_mask."""

    def __init__(self, inner, skips: bool) -> None:
        self.inner, self.skips_mask, self.calls = inner, skips, []
        self.resolution, self.face_type = inner.resolution, inner.face_type
        self.learned_mask = inner.learned_mask

    def predict(self, faces, need_mask: bool = True):
        self.calls.append(need_mask)
        return self.inner.predict(faces, need_mask=need_mask)


@pytest.mark.parametrize("opts", [MergeOptions(mask_mode="dst", color_transfer="rct"),
                                  MergeOptions(mode="raw", raw_mode="rgb")])
def test_merge_skipping_the_mask_branch_writes_the_same_frames(pred, dst, opts):
    frames, lms = list_frames(dst), faces_by_frame(dst / "aligned")
    fast, full = Recording(pred, skips=True), Recording(pred, skips=False)
    merge_frames(frames, lms, dst / "fast", fast, opts, workers=0, batch_size=4)
    merge_frames(frames, lms, dst / "full", full, opts, workers=0, batch_size=4)
    assert fast.calls and set(fast.calls) == {False} and set(full.calls) == {True}
    written = sorted(p for p in (dst / "full").iterdir() if p.suffix in (".jpg", ".png"))
    assert len(written) == 8
    for p in written:
        assert p.read_bytes() == (dst / "fast" / p.name).read_bytes()


def test_learned_mask_merge_asks_for_the_mask(pred, dst):
    rec = Recording(pred, skips=True)
    merge_frames(list_frames(dst), faces_by_frame(dst / "aligned"), dst / "m", rec,
                 MergeOptions(), workers=0, batch_size=4)
    assert rec.calls and set(rec.calls) == {True}
