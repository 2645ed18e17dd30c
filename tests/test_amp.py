"""AMP (DeepFaceLab 2.0's morphing model): DFL's network and defaults, every option changes the
network, the samples or the loss, the inters stay as DFL leaves them, the morph factor changes
the merged face, training lowers the loss and resumes exactly."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from backends import get_engine
from app.errors import UserError
from app.models import model_class
from app.models.options import resolve
from app.models.predictor import Predictor

MEDIA = Path(__file__).parent / "media"
TRAIN = MEDIA / "train"
TINY = {"resolution": 64, "face_type": "f", "ae_dims": 32, "inter_dims": 64, "e_dims": 16,
        "d_dims": 16, "d_mask_dims": 16}


def make(**opts):
    cls = model_class("AMP")
    return cls(resolve(cls.options_spec, {**TINY, **opts}))


@pytest.fixture(scope="module")
def faces():
    from app.train.samples import load_faceset
    return tuple(load_faceset(TRAIN / s, 64, "full", eyes_mouth=True) for s in ("src", "dst"))


def batch_for(model, faces, i=0):
    from app.train.samples import BatchMaker, SampleConfig
    src_aug, dst_aug, extra = model.sample_settings({"random_flip": False, "src_scale_mod": 0})
    return BatchMaker(*faces, SampleConfig(2, 1, False, 3, **extra), src_aug, dst_aug).make(i)


def engine_for(model, seed=0, gain=1.0):
    """fp32 torch weights; `gain` scales the output convs so untrained faces and masks vary
    (at sigmoid(~0) = 0.5 everywhere, differences hide below float noise)."""
    eng = get_engine("torch", "cpu", precision="fp32")
    eng.init_params(model.specs, seed=seed)
    if gain != 1.0:
        sd = eng.state_dict()
        eng.load_state_dict({k: v * gain if "out_conv" in k else v for k, v in sd.items()})
    return eng


def losses(model, faces, eng):
    return eng.predict(model.loss_fn, batch_for(model, faces))


def test_defaults_and_network_are_deepfacelab_2s():
    cls = model_class("AMP")
    o = resolve(cls.options_spec, {})
    assert (o["resolution"], o["face_type"], o["ae_dims"], o["inter_dims"], o["e_dims"],
            o["d_dims"], o["d_mask_dims"], o["morph_factor"]) == (224, "wf", 256, 1024, 64, 64,
                                                                  22, 0.5)
    assert o["random_warp"] and not o["lr_dropout"] and o["gan_power"] == 0.0
    assert cls.merge_defaults(o) == {"mode": "overlay", "clip_hborder_mask_per": 0.0,
                                     "morph_value": 1.0}
    m = make()
    s = m.specs
    assert s["encoder.dense1.weight"].shape == (16 * 8 * 2 * 2, 32)      # res/32 = 2, e*8 ch
    assert s["inter_src.dense2.weight"].shape == (32, 2 * 2 * 64)       # ae -> res/32^2 x inter
    assert s["inter_dst.dense2.weight"].shape == (32, 2 * 2 * 64)
    assert s["decoder.ups.0.conv.weight"].shape[:2] == (16 * 8 * 4, 64)  # one decoder
    assert not any(k.startswith(("decoder_src", "decoder_dst", "inter.")) for k in s)
    assert m.face_type == "full" and make(face_type="wf").face_type == "whole"


def test_size_options_change_the_network():
    base = make().param_count()
    for key, value in [("ae_dims", 64), ("inter_dims", 128), ("e_dims", 32), ("d_dims", 32),
                       ("d_mask_dims", 32), ("resolution", 96)]:
        assert make(**{key: value}).param_count() > base, key


def test_bad_sizes_and_face_types_are_refused():
    with pytest.raises(UserError, match="resolution"):
        make(resolution=80)                      # AMP's code is res / 32 wide
    with pytest.raises(UserError, match="face_type"):
        make(face_type="h")
    with pytest.raises(UserError, match="morph_factor"):
        make(morph_factor=0.9)
    with pytest.raises(UserError, match="gan_patch_size = 128 does not fit resolution 96"):
        make(resolution=96, gan_power=0.1, gan_patch_size=128)


def test_every_face_is_full_resolution_with_a_mask(faces):
    m = make()
    out = engine_for(m).predict(lambda F, P, b: m.forward_train(F, P, b["warped_src"],
                                                                b["warped_dst"], b["morph_mask"]),
                                batch_for(m, faces))
    assert out["src"][0].shape == (2, 3, 64, 64) and out["dst_mask"][0].shape == (2, 1, 64, 64)


def test_morph_masks_pick_morph_factor_channels_per_face(faces):
    b = batch_for(make(), faces)
    mask = b["morph_mask"]
    assert mask.shape == (2, 64, 1, 1) and set(np.unique(mask)) == {0.0, 1.0}
    assert (mask.sum(axis=(1, 2, 3)) == 32).all()                  # 0.5 of 64, every face
    assert not np.array_equal(mask[0], mask[1])                    # each face its own channels
    assert not np.array_equal(mask, batch_for(make(), faces, i=1)["morph_mask"])
    np.testing.assert_array_equal(mask, batch_for(make(), faces)["morph_mask"])  # resumable
    assert (batch_for(make(morph_factor=0.1), faces)["morph_mask"].sum(axis=(1, 2, 3)) == 6).all()


def test_sample_options_change_the_samples(faces):
    plain = batch_for(make(), faces)
    assert plain["em_src"].shape == (2, 1, 64, 64)                 # eyes and mouth: always
    no_warp = batch_for(make(random_warp=False), faces)
    np.testing.assert_allclose(no_warp["warped_src"], no_warp["target_src"], atol=1e-6)
    assert not np.allclose(plain["warped_src"], plain["target_src"], atol=1e-3)
    ct = batch_for(make(ct_mode="rct"), faces)
    assert np.abs(ct["target_src"] - plain["target_src"]).mean() > 0.005
    np.testing.assert_array_equal(ct["target_dst"], plain["target_dst"])
    extra = make(uniform_yaw=True).sample_settings({"random_flip": True, "src_scale_mod": 0})[2]
    assert extra["uniform_yaw"] and not make().sample_settings(
        {"random_flip": True, "src_scale_mod": 0})[2]["uniform_yaw"]


@pytest.fixture(scope="module")
def base(faces):
    eng = engine_for(make(), gain=30.0)
    return eng, losses(make(), faces, eng)


@pytest.mark.parametrize("opts,dst_too", [({"morph_factor": 0.2}, False),
                                          ({"blur_out_mask": True}, True)])
def test_loss_options_change_the_loss(opts, dst_too, faces, base):
    eng, ref = base
    got = losses(make(**opts), faces, eng)
    assert abs(float(got["src_loss"]) - float(ref["src_loss"])) > 1e-4, opts
    assert (abs(float(got["dst_loss"]) - float(ref["dst_loss"])) > 1e-6) == dst_too, opts


def test_gan_judges_both_sides_and_trains_its_discriminator(faces):
    plain, adv = make(), make(gan_power=1.0, gan_patch_size=8)
    assert any(k.startswith("GAN.") for k in adv.specs)
    assert not any(k.startswith("GAN.") for k in plain.specs)
    eng = engine_for(adv)
    b = batch_for(adv, faces)
    got, ref = eng.predict(adv.loss_fn, b), eng.predict(plain.loss_fn, b)
    assert float(got["src_loss"]) == pytest.approx(float(ref["src_loss"]), rel=1e-6)
    assert float(got["loss"]) > float(ref["loss"]) + 0.5 and float(got["GAN_loss"]) > 0.3
    eng = engine_for(adv)
    eng.set_optimizers(adv.optimizers())
    assert [o.loss for o in adv.optimizers()] == ["loss", "GAN_loss"]
    d_name = next(k for k in adv.specs if k.startswith("GAN."))
    before = eng.to_numpy(eng.params[d_name]).copy()
    eng.train_step(adv.loss_fn)(b)
    assert not np.array_equal(before, eng.to_numpy(eng.params[d_name]))


def test_optimizer_options():
    o = make().optimizers()[0]
    assert (o.kind, o.lr, o.lr_dropout, o.lr_cos, o.clipnorm) == ("adabelief", 5e-5, 1.0, 0, 0.0)
    o = make(lr_dropout=True, clipgrad=True).optimizers()[0]
    assert (o.lr_dropout, o.lr_cos, o.clipnorm) == (0.3, 500, 1.0)
    assert not any(p.startswith("inter_") for p in o.params)      # DFL's G_weights
    assert any(p.startswith("encoder.") for p in o.params)
    assert any(p.startswith("decoder.") for p in o.params)


def trainer(model_dir, options=TINY, general=None, seed=5):
    from app.train.trainer import Trainer
    return Trainer(TRAIN / "src", TRAIN / "dst", model_dir, "AMP", options=options,
                   general={"batch_size": 2, **(general or {})} if options is not None else None,
                   seed=seed, progress=False, log=lambda *a: None)


def test_training_moves_encoder_and_decoder_not_the_inters(tmp_path):
    t = trainer(tmp_path)
    assert t.engine.offload_mode == 1
    before = {k: t.engine.to_numpy(v).copy() for k, v in t.engine.params.items()}
    t.run(max_steps=2, window=False)
    after = {k: t.engine.to_numpy(v) for k, v in t.engine.params.items()}
    assert all(np.array_equal(before[k], after[k]) for k in before if k.startswith("inter_"))
    assert not np.array_equal(before["encoder.dense1.weight"], after["encoder.dense1.weight"])
    assert not np.array_equal(before["decoder.out_conv.weight"], after["decoder.out_conv.weight"])
    assert trainer(tmp_path / "b", {**TINY, "models_opt_on_gpu": False}).engine.offload_mode == 2


def test_the_loss_falls_on_a_fixed_batch(faces):
    import dataclasses
    m = make()
    eng = engine_for(m)
    eng.set_optimizers([dataclasses.replace(o, lr=2e-4) for o in m.optimizers()])
    step = eng.train_step(m.loss_fn)
    b = batch_for(m, faces)
    hist = [step(b)["loss"] for _ in range(15)]
    assert np.all(np.isfinite(hist)) and hist[-1] < 0.8 * hist[0], hist


def test_resume_is_exact(tmp_path):
    opts = {**TINY, "lr_dropout": True, "clipgrad": True, "ct_mode": "rct", "morph_factor": 0.3}
    whole = trainer(tmp_path / "a", opts).run(max_steps=4, window=False).history
    trainer(tmp_path / "b", opts).run(max_steps=2, window=False)
    resumed = trainer(tmp_path / "b", None, seed=None)
    assert resumed.iteration == 2 and resumed.options["morph_factor"] == 0.3
    halves = resumed.run(max_steps=2, window=False).history
    np.testing.assert_allclose(np.array(halves), np.array(whole), rtol=1e-5, atol=1e-6)


def test_morph_value_goes_from_dst_to_src(faces):
    """0.0 decodes the dst face's own inter_dst code (its reconstruction), 1.0 its inter_src
    code; values between give faces between, nearer to each end the nearer the value."""
    m = make()
    eng = engine_for(m, gain=30.0)
    x = np.ascontiguousarray(faces[1].images[:2, ..., ::-1].astype(np.float32) / 255)

    def face(value):
        mm = make() if value is None else model_class("AMP")({**m.options, "morph_value": value})
        return Predictor(mm, eng).predict(x)[0]
    full, none, half = face(None), face(0.0), face(0.5)
    np.testing.assert_allclose(face(1.0), full)                    # the default is 1.0
    rec = eng.predict(lambda F, P, b: m.net.decoder(F, P, m._inters(F, P, b["x"])[1])[0],
                      {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})
    np.testing.assert_allclose(none, rec.transpose(0, 2, 3, 1), atol=1e-5)
    gap = np.abs(full - none).mean()
    assert gap > 0.01
    assert np.abs(half - full).mean() < gap and np.abs(half - none).mean() < gap


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from app.train.api import train
    from app.workspace import Workspace
    root = tmp_path_factory.mktemp("amp_ws")
    shutil.copytree(MEDIA / "merge" / "dst", root / "data_dst")
    shutil.copytree(MEDIA / "merge" / "src_faces", root / "data_src" / "aligned")
    train(Workspace(root), "AMP", options=TINY, general={"batch_size": 2}, max_steps=1)
    return Workspace(root)


def test_merge_morph_changes_the_merged_frames(ws):
    import cv2
    from app.merge.options import MergeOptions
    from app.merge.runner import run_merge

    def merged(value):
        run_merge(ws, MergeOptions(mode="overlay", mask_mode="dst", morph_value=value),
                  model_name="AMP", workers=0, overwrite=True)
        return [cv2.imread(str(p)) for p in sorted(ws.merged_dir.glob("0*.jpg"))]
    src, mid = merged(1.0), merged(0.3)
    assert len(src) == len(mid) > 0
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(src, mid)) > 0.05


def test_morph_for_a_model_without_one_is_refused(ws, tmp_path):
    import os
    import subprocess
    import sys

    from app.merge.options import MergeOptions
    from app.merge.runner import run_merge
    from app.train.api import train
    from app.workspace import Workspace
    from tests.conftest import REPO
    shutil.copytree(ws.root, tmp_path / "w", ignore=shutil.ignore_patterns("model", "merged"))
    other = Workspace(tmp_path / "w")
    train(other, "H64", options={"lighter_ae": True}, general={"batch_size": 2}, max_steps=1)
    with pytest.raises(UserError, match="only a morphing model .AMP. has one, and H64"):
        run_merge(other, MergeOptions(morph_value=0.5), model_name="H64", workers=0)
    env = dict(os.environ, FACESTUDIO_ASK="0", PYTHONPATH=str(REPO), FACESTUDIO_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "app", "--workspace", str(other.root), "merge",
                        "H64", "--morph", "0.5", "--workers", "0"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert r.returncode != 0 and "morph" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not list(other.merged_dir.glob("0*.jpg"))


@pytest.mark.slow  # tinygrad compiles the whole AMP step for PoCL first: minutes on 2 cores
def test_trains_on_the_opencl_engine(faces):
    """tinygrad on PoCL: the morph mask, the slice-free mix of the two inters and AdaBelief
    compile into the step, and the loss falls on a fixed batch."""
    import dataclasses

    from backends.devices import list_opencl
    if not any(d.usable for d in list_opencl()):
        pytest.skip("no usable OpenCL device")
    m = make(clipgrad=True)
    eng = get_engine("opencl")
    eng.init_params(m.specs, seed=0)
    eng.set_optimizers([dataclasses.replace(o, lr=2e-4) for o in m.optimizers()])
    step = eng.train_step(m.loss_fn)
    b = batch_for(m, faces)
    hist = [step(b)["loss"] for _ in range(12)]
    print("AMP on OpenCL, fixed batch, loss:", [round(v, 3) for v in hist])
    assert np.all(np.isfinite(hist)) and hist[-1] < 0.9 * hist[0], hist


def test_merge_flag_answers_the_morph_question_for_amp_only(monkeypatch):
    from app.cli.cmd_merge import ask_options
    from app.cli.main import build_parser
    monkeypatch.setenv("FACESTUDIO_ASK", "0")
    amp_defaults = model_class("AMP").merge_defaults({})
    args = build_parser().parse_args(["merge", "AMP", "--morph", "0.4"])
    assert ask_options(args, amp_defaults).morph_value == pytest.approx(0.4)
    plain = build_parser().parse_args(["merge", "AMP"])
    assert ask_options(plain, amp_defaults).morph_value == 1.0
    with pytest.raises(UserError, match="--morph 0.4 is not available here: only a morph"):
        ask_options(args, model_class("H64").merge_defaults({}))
    with pytest.raises(UserError, match="Morph factor .*1.5 is out of range"):
        ask_options(build_parser().parse_args(["merge", "AMP", "--morph", "1.5"]), amp_defaults)
