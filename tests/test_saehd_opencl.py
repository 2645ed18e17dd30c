"""SAEHD trains on the OpenCL engine (tinygrad on PoCL): a fixed batch, the loss falls."""

import numpy as np
import pytest

from backends import get_engine
from tests.test_saehd import batch_for, faces, make  # noqa: F401  (faces: the fixture)


@pytest.mark.slow  # tinygrad compiles the whole SAEHD step for PoCL first: many minutes on 2 cores
def test_trains_on_the_opencl_engine(faces):
    """tinygrad on PoCL: the same fixed batch, AdaBelief + gradient clipping compiled into the
    step, and the loss falls (LR dropout on OpenCL: tests/test_optimizers_dfl2.py)."""
    from backends.devices import list_opencl
    if not any(d.usable for d in list_opencl()):
        pytest.skip("no usable OpenCL device")
    m = make(archi="df", clipgrad=True)
    eng = get_engine("opencl")
    eng.init_params(m.specs, seed=0)
    eng.set_optimizers([dataclass_replace(o, lr=2e-4) for o in m.optimizers()])
    step = eng.train_step(m.loss_fn)
    b = batch_for(m, faces)
    hist = [step(b)["loss"] for _ in range(12)]
    print("SAEHD on OpenCL, fixed batch, loss:", [round(v, 3) for v in hist])
    assert np.all(np.isfinite(hist)) and hist[-1] < 0.9 * hist[0], hist


def dataclass_replace(o, **kw):
    import dataclasses
    return dataclasses.replace(o, **kw)


@pytest.mark.slow  # compiles a bigger step than the one above: tens of minutes on 2 cores
def test_gan_and_true_face_train_on_the_opencl_engine(faces):
    """The discriminators' losses (exp, log; the U-Net's zero-insertion upsampling) compile
    for PoCL; all three optimizers step and the generator loss falls."""
    from backends.devices import list_opencl
    if not any(d.usable for d in list_opencl()):
        pytest.skip("no usable OpenCL device")
    m = make(archi="df", gan_power=0.1, gan_patch_size=8, gan_dims=4, true_face_power=0.1)
    eng = get_engine("opencl")
    eng.init_params(m.specs, seed=0)
    eng.set_optimizers([dataclass_replace(o, lr=2e-4) for o in m.optimizers()])
    step = eng.train_step(m.loss_fn)
    b = batch_for(m, faces)
    before = eng.to_numpy(eng.params["D_src.out_conv.weight"]).copy()
    hist = [step(b) for _ in range(12)]
    print("SAEHD GAN + true face on OpenCL:", [round(h["loss"], 3) for h in hist])
    assert all(np.isfinite(v) for h in hist for v in h.values())
    assert hist[-1]["loss"] < 0.9 * hist[0]["loss"] and "D_src_loss" in hist[0]
    assert not np.array_equal(before, eng.to_numpy(eng.params["D_src.out_conv.weight"]))
