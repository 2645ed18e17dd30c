"""Long runs (pytest -m slow): every model learns the faces on torch CPU, and runs on OpenCL.

The fixed-size models run their real architecture at 64 px here (the full 128 px versions take
seconds per step on a 2-core CPU; bench/train.py measures those).
"""

from pathlib import Path

import numpy as np
import pytest

from backends import get_engine
from app.models import model_class
from app.models.options import resolve
from app.train.samples import AugmentOptions, BatchMaker, SampleConfig, SampleFeeder, load_faceset

MEDIA = Path(__file__).parent / "media" / "train"
TINY = {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21, "d_ch_dims": 11}
CASES = [("H64", {}), ("H128", {}), ("DF", {}), ("LIAEF128", {}), ("SAE", TINY),
         ("SAE", {**TINY, "archi": "liae"})]


def small(name, opts, res=64):
    cls = model_class(name)
    if name != "SAE":
        cls = type(f"{name}{res}", (cls,), {"res": res})
    return cls(resolve(cls.options_spec, opts))


def faces(m):
    return (load_faceset(MEDIA / "src", m.resolution, m.face_type),
            load_faceset(MEDIA / "dst", m.resolution, m.face_type))


@pytest.mark.slow
@pytest.mark.parametrize("name,opts", CASES)
def test_model_learns_the_faces(name, opts):
    m = small(name, opts)
    src, dst = faces(m)
    feeder = SampleFeeder(BatchMaker(src, dst, SampleConfig(4, m.multiscale, seed=0),
                                     AugmentOptions(), AugmentOptions()))
    eng = get_engine("torch", "cpu")
    eng.init_params(m.specs, seed=0)
    eng.set_optimizers(m.optimizers())
    step = eng.train_step(m.loss_fn)
    target = src.images[:8].transpose(0, 3, 1, 2).astype(np.float32) / 255
    mask = src.masks[:8, None].astype(np.float32) / 255     # models learn the masked face

    def recon():
        return eng.predict(lambda F, P, b: m.reconstruct(F, P, b["src"], b["src"])[0],
                           {"src": target})
    start = np.mean(((recon() - target) * mask) ** 2)
    try:
        hist = [step(feeder.next())["loss"] for _ in range(300)]
    finally:
        feeder.close()
    assert np.mean(hist[-30:]) < 0.75 * np.mean(hist[:30])
    out = recon()
    err = np.mean(((out - target) * mask) ** 2)
    dst_face = dst.images.mean(0).transpose(2, 0, 1)[None] / 255
    # the src->src preview: far closer to the faces than at the start, and it looks like src,
    # not like the dst person
    assert err < 0.5 * start
    assert err < np.mean(((out - dst_face) * mask) ** 2)


@pytest.mark.slow
@pytest.mark.parametrize("name,opts", [("H64", {"lighter_ae": True}), ("H128", {"lighter_ae": True}),
                                       ("DF", {}), ("LIAEF128", {}), ("SAE", TINY),
                                       ("SAE", {**TINY, "archi": "liae"})])
def test_model_trains_on_opencl(name, opts):
    """A tiny configuration on the OpenCL engine (PoCL here): finite losses, weights move."""
    m = small(name, opts, res=32)
    src, dst = faces(m)
    maker = BatchMaker(src, dst, SampleConfig(2, m.multiscale, seed=0), AugmentOptions(),
                       AugmentOptions())
    eng = get_engine("opencl")
    eng.init_params(m.specs, seed=0)
    eng.set_optimizers(m.optimizers())
    step = eng.train_step(m.loss_fn)
    first = next(iter(m.specs))
    before = eng.to_numpy(eng.params[first]).copy()
    losses = [step(maker.make(i)) for i in range(3)]
    assert all(np.isfinite(v) for d in losses for v in d.values())
    assert not np.array_equal(before, eng.to_numpy(eng.params[first]))
    face, mask = eng.predict(m.swap_fn, {"face": maker.make(0)["target_dst"]})
    assert face.shape == (2, 3, m.resolution, m.resolution)
