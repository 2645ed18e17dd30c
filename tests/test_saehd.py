"""SAEHD (DeepFaceLab 2.0): every option changes the network, the samples or the loss on a fixed
batch and fixed weights; bad combinations are one clear message; training resumes exactly."""

from pathlib import Path

import numpy as np
import pytest

from backends import get_engine
from app.errors import UserError
from app.models import model_class
from app.models.options import resolve

MEDIA = Path(__file__).parent / "media" / "train"
TINY = {"resolution": 64, "ae_dims": 32, "e_dims": 16, "d_dims": 16, "d_mask_dims": 16}


def make(**opts):
    cls = model_class("SAEHD")
    return cls(resolve(cls.options_spec, {**TINY, **opts}))


@pytest.fixture(scope="module")
def faces():
    from app.train.samples import load_faceset
    return tuple(load_faceset(MEDIA / s, 64, "full", eyes_mouth=True) for s in ("src", "dst"))


def batch_for(model, faces, i=0, general=None):
    from app.train.samples import BatchMaker, SampleConfig
    g = {"random_flip": False, "src_scale_mod": 0, **(general or {})}
    src_aug, dst_aug, extra = model.sample_settings(g)
    return BatchMaker(*faces, SampleConfig(2, 1, False, 3, **extra), src_aug, dst_aug).make(i)


def engine_for(model, seed=0):
    eng = get_engine("torch", "cpu", precision="fp32")
    eng.init_params(model.specs, seed=seed)
    return eng


def test_defaults_are_deepfacelab_2s():
    cls = model_class("SAEHD")
    o = resolve(cls.options_spec, {})
    assert (o["resolution"], o["face_type"], o["archi"], o["ae_dims"], o["e_dims"], o["d_dims"],
            o["d_mask_dims"]) == (128, "f", "liae-ud", 256, 64, 64, 22)
    assert o["adabelief"] and o["masked_training"] and o["random_warp"] and not o["lr_dropout"]
    assert cls.merge_defaults(o)["mode"] == "overlay"


def test_size_options_change_the_network():
    base = make().param_count()
    for key, value in [("ae_dims", 64), ("e_dims", 32), ("d_dims", 32), ("d_mask_dims", 32),
                       ("resolution", 96)]:
        assert make(**{key: value}).param_count() > base, key
    assert make(d_dims=32).options["d_mask_dims"] == 16     # given, not derived


def test_archi_variants_build_deepfacelabs_networks():
    df, liae = make(archi="df"), make(archi="liae")
    assert "inter.dense1.weight" in df.specs and "decoder_src.out_conv.weight" in df.specs
    assert "inter_AB.dense1.weight" in liae.specs and "decoder.out_conv.weight" in liae.specs
    # -d: the inter works at res/32 and four output convs fill the 2x2 sub-pixels
    d = make(archi="df-d")
    assert d.specs["inter.dense2.weight"].shape[1] == 2 * 2 * 32
    assert df.specs["inter.dense2.weight"].shape[1] == 4 * 4 * 32
    assert "decoder_src.out_convs.2.weight" in d.specs
    # -t: a fifth downscale with residual blocks, a fourth decoder upscale, no inter upscale
    t = make(archi="df-t")
    assert "encoder.downs.4.conv.weight" in t.specs and "encoder.res_last.conv1.weight" in t.specs
    assert "decoder_src.ups.3.conv.weight" in t.specs and "inter.up.conv.weight" not in t.specs


@pytest.mark.parametrize("archi", ["df", "liae-d", "df-t", "liae-udt"])
def test_every_archi_outputs_full_resolution_faces_and_masks(archi, faces):
    m = make(archi=archi)
    eng = engine_for(m)
    face, mask = eng.predict(m.swap_fn, {"face": batch_for(m, faces)["target_dst"]})
    assert face.shape == (2, 3, 64, 64) and mask.shape == (2, 1, 64, 64)


def test_u_changes_the_output_with_the_same_weights(faces):
    """-u only pixel-normalises the code: same weights, another face."""
    plain, u = make(archi="df"), make(archi="df-u")
    assert plain.specs.keys() == u.specs.keys()
    eng = engine_for(plain)
    x = {"face": batch_for(plain, faces)["target_dst"]}
    assert np.abs(eng.predict(plain.swap_fn, x)[0] - eng.predict(u.swap_fn, x)[0]).max() > 1e-4


def test_d_needs_a_resolution_divisible_by_32():
    with pytest.raises(UserError, match=r"resolution = 80 .*liae-ud.*multiple of 32.*64 or 96"):
        make(resolution=80, archi="liae-ud")
    assert make(resolution=80, archi="liae-u").resolution == 80
    assert make(resolution=80, archi="df-t").resolution == 80   # -t rounds its code size up
    with pytest.raises(UserError, match="multiple of 2"):
        make(e_dims=17)


def test_face_types_map_to_ours_and_narrower_sets_are_refused(tmp_path):
    from app.train.trainer import Trainer
    assert [make(face_type=f).face_type for f in ("h", "mf", "f", "wf", "head")] == \
        ["half", "midfull", "full", "whole", "head"]
    with pytest.raises(UserError, match="full face but the model trains on whole faces"):
        Trainer(MEDIA / "src", MEDIA / "dst", tmp_path, "SAEHD", options={**TINY, "face_type": "wf"},
                general={"batch_size": 2}, progress=False, log=lambda *a: None)


def losses(model, faces, eng, general=None):
    return eng.predict(model.loss_fn, batch_for(model, faces, general=general))


@pytest.fixture(scope="module")
def base(faces):
    """Untrained outputs sit at sigmoid(~0) = 0.5 everywhere, where colour statistics cannot
    differ: the output convs are scaled up so the faces and masks vary as trained ones do."""
    m = make(archi="df")
    eng = engine_for(m)
    sd = eng.state_dict()
    eng.load_state_dict({k: v * 30 if "out_conv" in k else v for k, v in sd.items()})
    return eng, losses(m, faces, eng)


@pytest.mark.parametrize("opts", [{"masked_training": False}, {"eyes_mouth_prio": True},
                                  {"blur_out_mask": True}, {"face_style_power": 10.0},
                                  {"bg_style_power": 10.0}])
def test_loss_options_change_the_loss(opts, faces, base):
    eng, ref = base
    got = losses(make(archi="df", **opts), faces, eng)
    assert abs(float(got["src_loss"]) - float(ref["src_loss"])) > 1e-4, opts
    styled = "face_style_power" in opts or "bg_style_power" in opts
    # style losses are src's only (DFL adds them to src_loss)
    assert (abs(float(got["dst_loss"]) - float(ref["dst_loss"])) < 1e-6) == styled


def test_eyes_mouth_masks_cover_eyes_and_mouth_only(faces):
    from app.faceset.face_file import list_faces, read_face
    from app.extract.align import face_matrix, transform_points
    src, _ = faces
    assert src.em_masks is not None and src.em_masks.shape == src.masks.shape
    img, meta = read_face(list_faces(MEDIA / "src")[0])
    lm = transform_points(meta.landmarks_array(), face_matrix(meta.landmarks_array(), 64, "full"))
    em = src.em_masks[0].astype(float) / 255
    eye, mouth = lm[36:42].mean(0).astype(int), lm[60:68].mean(0).astype(int)
    nose = lm[30].astype(int)
    assert em[eye[1], eye[0]] > 0.5 and em[mouth[1], mouth[0]] > 0.5 and em[nose[1], nose[0]] < 0.2


def test_sample_options_change_the_samples(faces):
    plain = batch_for(make(), faces)
    no_warp = batch_for(make(random_warp=False), faces)
    np.testing.assert_array_equal(no_warp["target_src"], plain["target_src"])
    np.testing.assert_allclose(no_warp["warped_src"], no_warp["target_src"], atol=1e-6)
    assert not np.allclose(plain["warped_src"], plain["target_src"], atol=1e-3)
    hsv = batch_for(make(random_hsv_power=0.3), faces)
    np.testing.assert_array_equal(hsv["target_src"], plain["target_src"])
    np.testing.assert_array_equal(hsv["warped_dst"], plain["warped_dst"])      # src only
    assert np.abs(hsv["warped_src"] - plain["warped_src"]).mean() > 0.01
    for ct in ("rct", "lct", "mkl", "idt", "sot"):
        got = batch_for(make(ct_mode=ct), faces)
        assert np.abs(got["target_src"] - plain["target_src"]).mean() > 0.005, ct
        np.testing.assert_array_equal(got["target_dst"], plain["target_dst"])
    em = batch_for(make(eyes_mouth_prio=True), faces)
    assert em["em_src"].shape == (2, 1, 64, 64) and 0 < em["em_src"].mean() < 0.3
    assert "em_src" not in plain


def test_uniform_yaw_draws_rare_poses_as_often_as_common_ones(faces):
    """Six frontal faces and one turned one: plain epochs draw the turned face 1 time in 7,
    uniform yaw about every other time (two yaw ranges)."""
    import dataclasses
    from app.train.samples import AugmentOptions, BatchMaker, SampleConfig
    src, dst = faces
    few = dataclasses.replace(src, yaws=np.array([0.0] * 6 + [0.8] + [0.0] * (len(src) - 7),
                                                 np.float32))
    def share(uniform):
        cfg = SampleConfig(4, seed=1, uniform_yaw=uniform)
        maker = BatchMaker(few, dst, cfg, AugmentOptions(), AugmentOptions())
        drawn = [k for i in range(100) for k in maker.indices(i)[0]]
        return drawn.count(6) / len(drawn)
    assert share(False) < 0.1 and 0.4 < share(True) < 0.6
    assert make(uniform_yaw=True).sample_settings({"random_flip": True, "src_scale_mod": 0})[2][
        "uniform_yaw"]


def test_optimizer_options():
    o = make().optimizers()[0]
    assert (o.kind, o.lr_dropout, o.lr_cos, o.clipnorm) == ("adabelief", 1.0, 0, 0.0)
    o = make(adabelief=False, lr_dropout=True, clipgrad=True).optimizers()[0]
    assert (o.kind, o.lr_dropout, o.lr_cos, o.clipnorm) == ("rmsprop", 0.3, 500, 1.0)
    liae = make(archi="liae", random_warp=False)
    assert not any(p.startswith("inter_AB.") for p in liae.optimizers()[0].params)
    assert any(p.startswith("inter_AB.") for p in make(archi="liae").optimizers()[0].params)


def trainer(model_dir, options=TINY, general=None, seed=5):
    from app.train.trainer import Trainer
    return Trainer(MEDIA / "src", MEDIA / "dst", model_dir, "SAEHD", options=options,
                   general={"batch_size": 2, **(general or {})} if general is not None or
                   options is not None else None, seed=seed, progress=False, log=lambda *a: None)


def test_models_opt_on_gpu_places_the_optimizer_state(tmp_path):
    assert trainer(tmp_path / "a").engine.offload_mode == 1
    assert trainer(tmp_path / "b", {**TINY, "models_opt_on_gpu": False}).engine.offload_mode == 2


def test_resume_is_exact_with_lr_dropout_and_options(tmp_path):
    opts = {**TINY, "archi": "liae-ud", "lr_dropout": True, "eyes_mouth_prio": True,
            "clipgrad": True, "ct_mode": "rct", "random_hsv_power": 0.1}
    whole = trainer(tmp_path / "a", opts).run(max_steps=4, window=False).history
    trainer(tmp_path / "b", opts).run(max_steps=2, window=False)
    resumed = trainer(tmp_path / "b", None, seed=None)
    assert resumed.iteration == 2 and resumed.options["lr_dropout"] is True
    halves = resumed.run(max_steps=2, window=False).history
    np.testing.assert_allclose(np.array(halves), np.array(whole), rtol=1e-5, atol=1e-6)


def test_liae_without_random_warp_leaves_inter_ab(tmp_path):
    t = trainer(tmp_path, {**TINY, "archi": "liae", "random_warp": False})
    before = {k: t.engine.to_numpy(v).copy() for k, v in t.engine.params.items()}
    t.run(max_steps=2, window=False)
    after = {k: t.engine.to_numpy(v) for k, v in t.engine.params.items()}
    assert all(np.array_equal(before[k], after[k]) for k in before if k.startswith("inter_AB."))
    assert not np.array_equal(before["inter_B.dense1.weight"], after["inter_B.dense1.weight"])


def test_fixed_options_and_other_models_folders(tmp_path):
    trainer(tmp_path).run(max_steps=1, window=False)
    with pytest.raises(UserError, match="archi is 'liae-ud' in the saved model"):
        trainer(tmp_path, {"archi": "df"})
    t = trainer(tmp_path, {"lr_dropout": True, "ct_mode": "mkl"}, general={})
    assert t.options["lr_dropout"] and t.options["ct_mode"] == "mkl"
    # an SAE folder is never read as SAEHD, nor the reverse
    for f in tmp_path.glob("SAEHD_*.*"):
        f.rename(tmp_path / f.name.replace("SAEHD", "SAE"))
    from app.train.trainer import Trainer
    with pytest.raises(UserError, match="belongs to a SAEHD model"):
        Trainer(MEDIA / "src", MEDIA / "dst", tmp_path, "SAE", progress=False, log=lambda *a: None)
    fresh = trainer(tmp_path)
    assert fresh.first_run and fresh.iteration == 0


def test_midfull_and_whole_face_geometry_as_deepfacelab_2():
    """DFL 2.0's crop sides in mean-face units: half 1, mid 1.19, full 1.60, whole 2.13 (and 7 %
    higher, for the forehead); the face in a 256 px crop shrinks in that proportion."""
    from app.extract.align import MEAN_FACE, face_matrix, transform_points
    lm = np.zeros((68, 2))
    lm[17:] = MEAN_FACE * 100 + 50
    lm[:17] = np.linspace((50, 60), (150, 60), 17)
    eye_gap = {}
    for ft in ("half", "midfull", "full", "whole"):
        pts = transform_points(lm, face_matrix(lm, 256, ft))
        eye_gap[ft] = np.linalg.norm(pts[36:42].mean(0) - pts[42:48].mean(0))
        if ft == "full":
            full_nose = pts[30]
        if ft == "whole":
            whole_nose = pts[30]
    side = {ft: eye_gap["half"] / g for ft, g in eye_gap.items()}
    assert side["midfull"] == pytest.approx(1.19, abs=0.01)
    assert side["full"] == pytest.approx(1.60, abs=0.01)
    assert side["whole"] == pytest.approx(2.13, abs=0.01)
    # the whole face sits 7 % of its mean-face side lower in the crop: more forehead shows
    unraised = 128 + (full_nose[1] - 128) * side["full"] / side["whole"]
    assert whole_nose[1] - unraised == pytest.approx(0.07 * 256 / side["whole"], abs=0.5)


@pytest.mark.parametrize("opts,dloss", [({"true_face_power": 0.5}, "D_code_loss"),
                                        ({"gan_power": 1.0, "gan_patch_size": 8}, "D_src_loss")])
def test_true_face_and_gan_add_a_discriminator_and_its_loss(opts, dloss, faces):
    """The generator loss grows by the adversarial term (src/dst losses stay), the
    discriminator has its own optimizer and loss, and a step moves its weights."""
    plain, adv = make(archi="df"), make(archi="df", **opts)
    prefix = "code_discriminator." if "true_face_power" in opts else "D_src."
    assert any(k.startswith(prefix) for k in adv.specs)
    assert not any(k.startswith(prefix) for k in plain.specs)
    eng = engine_for(adv)
    b = batch_for(adv, faces)
    got = eng.predict(adv.loss_fn, b)
    ref = eng.predict(plain.loss_fn, b)
    assert float(got["src_loss"]) == pytest.approx(float(ref["src_loss"]), rel=1e-6)
    assert float(got["loss"]) > float(ref["loss"]) + 0.05 and float(got[dloss]) > 0.3
    eng = engine_for(adv)          # fresh: no constants made under predict's inference mode
    eng.set_optimizers(adv.optimizers())
    assert [o.loss for o in adv.optimizers()] == ["loss", dloss]
    d_name = next(k for k in adv.specs if k.startswith(prefix))
    before = eng.to_numpy(eng.params[d_name]).copy()
    eng.train_step(adv.loss_fn)(b)
    assert not np.array_equal(before, eng.to_numpy(eng.params[d_name]))


def test_gan_options_are_checked():
    with pytest.raises(UserError, match="true_face_power .*not available.*df"):
        make(archi="liae", true_face_power=0.1)
    with pytest.raises(UserError, match="gan_patch_size = 64 does not fit resolution 80"):
        make(resolution=80, archi="df", gan_power=0.1, gan_patch_size=64)
    assert make(gan_power=0.1).options["gan_patch_size"] == 8       # resolution / 8


def test_gan_switched_on_later_starts_its_discriminator_fresh(tmp_path):
    notes = []
    trainer(tmp_path).run(max_steps=1, window=False)
    from app.train.trainer import Trainer
    t = Trainer(MEDIA / "src", MEDIA / "dst", tmp_path, "SAEHD", options={"gan_power": 0.1},
                progress=False, log=notes.append)
    assert t.iteration == 1 and any("D_src start(s) fresh" in n for n in notes)
    t.run(max_steps=1, window=False)
    again = Trainer(MEDIA / "src", MEDIA / "dst", tmp_path, "SAEHD", progress=False,
                    log=notes.append)
    assert again.engine.started_fresh == [] and again.iteration == 2


def test_pretrain_forces_deepfacelabs_settings(faces):
    m = make(pretrain=True, lr_dropout=True, gan_power=0.5, random_warp=True, face_style_power=5.0)
    assert m.pretraining and "D_src.out_conv.weight" not in m.specs        # no GAN while pretraining
    assert m.optimizers()[0].lr_dropout == 1.0
    src_aug, _, extra = m.sample_settings({"random_flip": False, "src_scale_mod": 0})
    assert not src_aug.random_warp and src_aug.random_flip and extra["uniform_yaw"]
    assert not any(p.startswith("inter_AB.") for p in m.optimizers()[0].params)   # as DFL


def test_pretrain_on_any_faces_then_on_the_pair(tmp_path):
    from app.train.trainer import Trainer
    opts = {**TINY, "archi": "df", "pretrain": True}
    with pytest.raises(UserError, match="--pretrain-dir"):
        trainer(tmp_path, opts)
    t = Trainer(MEDIA / "src", MEDIA / "dst", tmp_path, "SAEHD", options=opts,
                general={"batch_size": 2}, seed=5, progress=False, log=lambda *a: None,
                pretrain_dir=MEDIA / "dst")
    assert t.src.names == t.dst.names and t.src.folder == MEDIA / "dst"      # both sides
    t.run(max_steps=2, window=False)
    saved = {k: t.engine.to_numpy(v).copy() for k, v in t.engine.params.items()}
    notes = []
    after = Trainer(MEDIA / "src", MEDIA / "dst", tmp_path, "SAEHD", options={"pretrain": False},
                    progress=False, log=notes.append)
    assert after.iteration == 0 and after.history == [] and after.src.folder == MEDIA / "src"
    assert any("pretraining is off" in n for n in notes)
    now = {k: after.engine.to_numpy(v) for k, v in after.engine.params.items()}
    assert all(np.array_equal(now[k], saved[k]) for k in saved if not k.startswith("inter."))
    assert not np.array_equal(now["inter.dense1.weight"], saved["inter.dense1.weight"])
    after.run(max_steps=1, window=False)
    again = Trainer(MEDIA / "src", MEDIA / "dst", tmp_path, "SAEHD", progress=False,
                    log=lambda *a: None)
    assert again.iteration == 1


def test_d_doubles_the_resolution_at_about_the_same_decoder_cost():
    """-d at 128 px: the decoder's FLOPs are those of a 64 px decoder (plus three small output
    convs), a quarter of a plain 128 px decoder's."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    def decoder_flops(res, archi):
        m = make(resolution=res, archi=archi)
        eng = engine_for(m)
        inter = m.net.inter
        code = np.random.default_rng(0).random((1, inter.out_ch, inter.lowest * 2,
                                                 inter.lowest * 2), np.float32)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            face, _ = m.net.decoder_src(eng.F, eng.params, torch.from_numpy(code))
        assert face.shape[-1] == res
        return counter.get_total_flops()

    d128, plain64, plain128 = decoder_flops(128, "df-d"), decoder_flops(64, "df"), \
        decoder_flops(128, "df")
    assert d128 < 1.3 * plain64 and plain128 > 3.5 * plain64


def test_resume_is_exact_with_gan_and_true_face(tmp_path):
    opts = {**TINY, "archi": "df", "gan_power": 0.1, "true_face_power": 0.1}
    whole = trainer(tmp_path / "a", opts).run(max_steps=3, window=False).history
    trainer(tmp_path / "b", opts).run(max_steps=1, window=False)
    halves = trainer(tmp_path / "b", None, seed=None).run(max_steps=2, window=False).history
    np.testing.assert_allclose(np.array(halves), np.array(whole), rtol=1e-5, atol=1e-6)
