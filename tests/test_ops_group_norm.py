"""The ops the mask network added (GroupNorm, x2 bilinear upsampling) give torch's own
functions' results on the torch and the OpenCL engine, and their gradients train."""

import numpy as np
import torch


def test_group_norm_and_bilinear_upsampling_match_torch(fp32_engine):
    eng = fp32_engine
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 8, 5, 7)) * 3 + 1).astype(np.float32)
    w = rng.standard_normal(8).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    tx = torch.from_numpy(x)
    for groups in (1, 4, 8):
        out = eng.predict(lambda F, P, t: F.group_norm(t["x"], groups, t["w"], t["b"]),
                          {"x": x, "w": w, "b": b})
        ref = torch.nn.functional.group_norm(tx, groups, torch.from_numpy(w),
                                             torch.from_numpy(b)).numpy()
        assert out.shape == ref.shape and np.allclose(out, ref, atol=1e-4), groups
    plain = eng.predict(lambda F, P, t: F.group_norm(t["x"], 2), {"x": x})
    assert np.allclose(plain, torch.nn.functional.group_norm(tx, 2).numpy(), atol=1e-4)
    up = eng.predict(lambda F, P, t: F.upsample_bilinear2x(t["x"]), {"x": x})
    ref = torch.nn.functional.interpolate(tx, scale_factor=2, mode="bilinear",
                                          align_corners=False).numpy()
    assert up.shape == (2, 8, 10, 14) and np.allclose(up, ref, atol=1e-5)


def test_group_norm_gradients_train_its_weights(fp32_engine):
    """A GroupNorm'd conv learns a target: gradients flow through the op on both engines."""
    from backends import layers as L
    from backends.optim import Adam

    conv = L.Conv2D(3, 4, 3)
    specs = conv.specs()
    specs.update({"gn.weight": L.ParamSpec((4,), "ones"), "gn.bias": L.ParamSpec((4,), "zeros")})
    eng = fp32_engine
    eng.init_params(specs, seed=1)
    eng.set_optimizers([Adam(lr=5e-2, beta1=0.9)])
    rng = np.random.default_rng(1)
    batch = {"x": rng.random((2, 3, 6, 6), np.float32),
             "y": rng.random((2, 4, 6, 6), np.float32)}

    def loss(F, P, t):
        y = F.group_norm(conv(F, P, t["x"]), 2, P["gn.weight"], P["gn.bias"])
        return {"loss": F.mse(F.upsample_bilinear2x(y), F.upsample_bilinear2x(t["y"]))}
    step = eng.train_step(loss)
    losses = [step(batch)["loss"] for _ in range(12)]
    assert losses[-1] < 0.8 * losses[0], losses
