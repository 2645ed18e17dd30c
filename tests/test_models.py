"""Models: every option changes the network or the loss; each model trains a few steps."""

import numpy as np
import pytest

from backends import get_engine
from app.models import MODELS, model_class
from app.models.options import resolve
from app.errors import UserError

TINY = {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21, "d_ch_dims": 11}


def make(name, **opts):
    cls = model_class(name)
    return cls(resolve(cls.options_spec, opts))


def params(name, **opts) -> int:
    return make(name, **opts).param_count()


def test_default_sizes_match_deepfacelab():
    # DFL's H128 with its mask branches; faceswap's H128 (no mask branch) is 107.7 M
    h128 = make("H128")
    assert h128.param_count() == pytest.approx(138.4e6, rel=0.01)
    no_mask = sum(int(np.prod(s.shape)) for k, s in h128.specs.items() if "decoder_srcm" not in k
                  and "decoder_dstm" not in k)
    assert no_mask == pytest.approx(107.7e6, rel=0.01)
    assert make("SAE").param_count() == pytest.approx(113.5e6, rel=0.01)
    assert {make(n).face_type for n in ("H64", "H128")} == {"half"}
    assert {make(n).face_type for n in ("DF", "LIAEF128", "SAE")} == {"full"}
    assert [make(n).resolution for n in MODELS] == [64, 128, 128, 128, 128, 128, 96,
                                                    224]  # + SAEHD, Quick96, AMP


@pytest.mark.parametrize("name", ["H64", "H128", "DF", "LIAEF128"])
def test_learn_mask_option_adds_the_mask_branch(name):
    with_mask, without = make(name), make(name, learn_mask=False)
    assert without.param_count() < with_mask.param_count()
    assert not any("decoder_srcm" in k or "decoderm" in k for k in without.specs)
    assert [o.loss for o in without.optimizers()] == ["loss"]
    if name == "H128":   # faceswap's DFL-H128 has no mask branch: the same 107.7 M network
        assert without.param_count() == pytest.approx(107.7e6, rel=0.01)


@pytest.mark.parametrize("name", ["H64", "H128"])
def test_lighter_autoencoder_is_smaller(name):
    assert params(name, lighter_ae=True) < params(name) / 2


def test_sae_size_options_change_the_network():
    base = params("SAE", **TINY)
    for key, value in [("ae_dims", 256), ("e_ch_dims", 42), ("d_ch_dims", 22)]:
        assert params("SAE", **{**TINY, key: value}) > base, key
    assert params("SAE", **{**TINY, "d_residual_blocks": True}) > base
    assert params("SAE", **{**TINY, "lighter_encoder": True}) < base
    assert params("SAE", **{**TINY, "learn_mask": False}) < base
    assert params("SAE", **{**TINY, "resolution": 96}) > base          # bigger dense layers
    assert params("SAE", **{**TINY, "multiscale_decoder": True}) > base  # extra to_bgr convs


def test_sae_architectures_differ():
    df, liae, vg = (make("SAE", **TINY, archi=a) for a in ("df", "liae", "vg"))
    assert any(k.startswith("inter_AB.") for k in liae.specs)
    assert any(k.startswith("decoder_src.") for k in df.specs)
    assert vg.param_count() > df.param_count()
    assert not any(".res." in k for k in df.specs)
    assert make("SAE", archi="liae").options["ae_dims"] == 256   # DFL's liae default


def test_sae_vg_is_deepfacelabs_vg():
    """DFL 1.0's VGEncFlow/VGDecFlow: 16 scaled residual blocks (8 with the lighter encoder)
    after a stride-2 conv, a flatten at 1/32 of the resolution, one block per decoder upscale,
    no multiscale decoder (not asked for vg)."""
    vg = make("SAE", **TINY, archi="vg")
    enc_blocks = {k.split(".")[2] for k in vg.specs if k.startswith("encoder.res.")}
    assert len(enc_blocks) == 16 and vg.specs["encoder.res.0.gamma"].shape == (1,)
    d = 3 * TINY["e_ch_dims"] - (3 * TINY["e_ch_dims"]) % 4
    assert vg.specs["encoder.conv_in.weight"].shape == (d, 3, 5, 5)
    assert vg.specs["encoder.bottleneck.dense1.weight"].shape == (8 * d * (64 // 32) ** 2, 128)
    for dec in ("decoder_src", "decoder_dst", "decoder_srcm", "decoder_dstm"):
        assert {k.split(".")[2] for k in vg.specs if k.startswith(dec + ".res.")} == {"0", "1", "2"}
    light = make("SAE", **TINY, archi="vg", lighter_encoder=True)
    assert len({k.split(".")[2] for k in light.specs if k.startswith("encoder.res.")}) == 8
    assert any("depthwise" in k for k in light.specs)
    assert "multiscale_decoder" not in vg.options and "d_residual_blocks" not in vg.options
    assert vg.multiscale == 1


def test_vg_refuses_multiscale_and_residual_decoder():
    """DFL 1.0's vg decoder has one scale and its own residual blocks: asking for either is an
    error naming the option (it used to be dropped silently); their default 'n' is accepted."""
    for key in ("multiscale_decoder", "d_residual_blocks"):
        with pytest.raises(UserError, match=f"{key} .*not available.*vg"):
            make("SAE", **TINY, archi="vg", **{key: "y"})
        assert key not in make("SAE", **TINY, archi="vg", **{key: "n"}).options
    assert make("SAE", **TINY, archi="df", multiscale_decoder="y").multiscale == 3


def test_resumed_vg_refuses_multiscale():
    from app.train.trainer import merge_options
    spec = model_class("SAE").options_spec
    saved = resolve(spec, {**TINY, "archi": "vg"})
    with pytest.raises(UserError, match="multiscale_decoder .*not available"):
        merge_options(spec, saved, {"multiscale_decoder": True}, None)
    assert merge_options(spec, saved, {"multiscale_decoder": False}, None) == saved


def test_option_validation():
    with pytest.raises(UserError, match="multiple of 16"):
        make("SAE", resolution=72)
    with pytest.raises(UserError, match="out of range"):
        make("SAE", e_ch_dims=100)
    with pytest.raises(UserError, match="unknown option"):
        make("H64", archi="df")


@pytest.fixture(scope="module")
def tiny_run():
    """A tiny SAE on the engine with one real batch: option variants that share the network
    are evaluated on the same weights."""
    from pathlib import Path
    from app.train.samples import AugmentOptions, BatchMaker, SampleConfig, load_faceset
    media = Path(__file__).parent / "media" / "train"
    m = make("SAE", **TINY)
    src, dst = load_faceset(media / "src", 64, "full"), load_faceset(media / "dst", 64, "full")
    batch = BatchMaker(src, dst, SampleConfig(2, multiscale=3, seed=0), AugmentOptions(),
                       AugmentOptions()).make(0)
    eng = get_engine("torch", "cpu", precision="fp32")
    eng.init_params(m.specs, seed=0)
    return eng, batch


def losses(tiny_run, **opts):
    eng, batch = tiny_run
    m = make("SAE", **TINY, **opts)
    return eng.predict(lambda F, P, b: m.loss_fn(F, P, b), batch)


@pytest.mark.parametrize("opts", [{"pixel_loss": True}, {"face_style_power": 50.0},
                                  {"bg_style_power": 50.0}, {"remove_gray_border": True}])
def test_loss_options_change_the_loss(tiny_run, opts):
    base, changed = losses(tiny_run), losses(tiny_run, **opts)
    assert abs(float(changed["loss"]) - float(base["loss"])) > 1e-3
    assert float(changed["dst_loss"]) == pytest.approx(float(base["dst_loss"])) or \
        "pixel_loss" in opts or "remove_gray_border" in opts


def test_style_power_scales_the_loss(tiny_run):
    l10 = float(losses(tiny_run, bg_style_power=10.0)["loss"])
    l90 = float(losses(tiny_run, bg_style_power=90.0)["loss"])
    base = float(losses(tiny_run)["loss"])
    assert (l90 - base) == pytest.approx(9 * (l10 - base), rel=1e-3)


def test_multiscale_and_mask_outputs(tiny_run):
    eng, batch = tiny_run
    ms = make("SAE", **{**TINY, "multiscale_decoder": True})
    e2 = get_engine("torch", "cpu", precision="fp32")
    e2.init_params(ms.specs, seed=0)
    out = e2.predict(lambda F, P, b: ms.forward_train(F, P, b["warped_src"], b["warped_dst"]), batch)
    assert [o.shape[-1] for o in out["src"]] == [16, 32, 64]
    assert out["src_mask"][-1].shape == (2, 1, 64, 64)
    nomask = make("SAE", **{**TINY, "learn_mask": False})
    e3 = get_engine("torch", "cpu", precision="fp32")
    e3.init_params(nomask.specs, seed=0)
    pv = e3.predict(nomask.preview_fn, {"src": batch["target_src"], "dst": batch["target_dst"]})
    assert "dst_src_mask" not in pv and pv["dst_src"].shape == (2, 3, 64, 64)


def test_sae_mask_loss_trains_mask_decoders_and_encoder_only(tiny_run):
    """The mask loss reaches the encoder and mask decoders, never the image decoders."""
    import torch
    _, batch = tiny_run
    m = make("SAE", **TINY)
    eng = get_engine("torch", "cpu", precision="fp32")   # fresh: no constants made under predict
    eng.init_params(m.specs, seed=0)
    assert [o.loss for o in m.optimizers()] == ["total"]
    tb = eng.batch_to_device(batch)
    loss = m.loss_fn(eng.F, eng.params, tb)["mask_loss"]
    names = [n for n in m.specs if n.startswith(("encoder.", "decoder_src.", "decoder_srcm."))]
    grads = torch.autograd.grad(loss, [eng.params[n] for n in names], allow_unused=True)
    got = {n: g is not None and float(g.abs().sum()) > 0 for n, g in zip(names, grads)}
    assert all(v for n, v in got.items() if n.startswith(("encoder.", "decoder_srcm.")))
    assert not any(v for n, v in got.items() if n.startswith("decoder_src."))


def test_optimizer_mode_reaches_the_engine(tmp_path):
    from app.train.trainer import Trainer
    from pathlib import Path
    media = Path(__file__).parent / "media" / "train"
    t = Trainer(media / "src", media / "dst", tmp_path, "SAE", options={**TINY, "optimizer_mode": 3},
                general={"batch_size": 2}, progress=False, log=lambda *a: None)
    assert t.engine.offload_mode == 3 and t.options["optimizer_mode"] == 3


def small(name, **opts):
    """The model's real architecture at 64 px (fixed-size models get a 64 px subclass)."""
    cls = model_class(name)
    if name != "SAE":
        cls = type(f"{name}64", (cls,), {"res": 64})
    return cls(resolve(cls.options_spec, opts))


@pytest.mark.parametrize("name,opts", [("H64", {"lighter_ae": True}), ("H128", {}), ("DF", {}),
                                       ("LIAEF128", {}), ("SAE", {**TINY, "archi": "liae"}),
                                       ("SAE", {**TINY, "archi": "vg"})])
def test_each_model_trains_steps(name, opts):
    """A few real steps on real faces (64 px): finite losses, weights move, the swap works."""
    from pathlib import Path
    from app.train.samples import AugmentOptions, BatchMaker, SampleConfig, load_faceset
    media = Path(__file__).parent / "media" / "train"
    m = small(name, **opts)
    src, dst = (load_faceset(media / s, 64, m.face_type) for s in ("src", "dst"))
    maker = BatchMaker(src, dst, SampleConfig(2, m.multiscale, seed=0), AugmentOptions(),
                       AugmentOptions())
    eng = get_engine("torch", "cpu")
    eng.init_params(m.specs, seed=1)
    eng.set_optimizers(m.optimizers())
    step = eng.train_step(m.loss_fn)
    first = next(iter(m.specs))
    before = eng.to_numpy(eng.params[first]).copy()
    hist = [step(maker.make(i)) for i in range(3)]
    assert all(np.isfinite(v) for h in hist for v in h.values())
    assert {"src_loss", "dst_loss", "loss"} <= set(hist[0])
    assert not np.array_equal(before, eng.to_numpy(eng.params[first]))
    face, mask = eng.predict(m.swap_fn, {"face": maker.make(0)["target_dst"]})
    assert face.shape == (2, 3, 64, 64) and mask.shape == (2, 1, 64, 64)


def test_lighter_encoder_separable_downscales_as_deepfacelab():
    """DFL 1.0: DFEncFlow makes the 2nd to 4th downscale separable, LIAEEncFlow the 2nd and 4th."""
    def separable(archi):
        m = make("SAE", **TINY, archi=archi, lighter_encoder=True)
        return sorted(int(k.split(".downs.")[1].split(".")[0]) for k in m.specs
                      if k.endswith(".depthwise") and ".downs." in k)
    assert separable("df") == [1, 2, 3]
    assert separable("liae") == [1, 3]
    assert separable("vg") == [1, 3]        # VGEncFlow: 2x and 8x of its last four downscales
