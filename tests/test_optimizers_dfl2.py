"""DeepFaceLab 2.0's optimizer knobs (SAEHD): AdaBelief, LR dropout, the cosine step size and
gradient clipping, on the torch and the OpenCL engine, each against a numpy reference of DFL's
formulas (core/leras/optimizers/AdaBelief.py, RMSprop.py)."""

import math

import numpy as np
import pytest

from backends import get_engine
from backends.devices import list_opencl
from backends.layers import ParamSpec
from backends.optim import AdaBelief, RMSprop

HAS_CL = any(d.usable for d in list_opencl())
ENGINES = ["torch", pytest.param("opencl", marks=pytest.mark.skipif(not HAS_CL, reason="no OpenCL"))]
SPECS = {"w": ParamSpec((4, 6)), "b": ParamSpec((6,), "ones")}
X = np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32)
Y = np.random.default_rng(4).standard_normal((5, 6)).astype(np.float32)


def loss_fn(F, P, b):
    d = F.dense(b["x"], P["w"], P["b"]) - b["y"]
    return {"loss": F.mean(d * d)}


def grads(p):
    d = X @ p["w"] + p["b"] - Y
    g = 2 * d / d.size
    return {"w": X.T @ g, "b": g.sum(0)}


def reference(opt, p, steps):
    """DFL's update rules in numpy (float64)."""
    p = {k: v.astype(np.float64) for k, v in p.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    for t in range(1, steps + 1):
        g = grads(p)
        if opt.clipnorm:
            norm = math.sqrt(sum(float((x * x).sum()) for x in g.values()))
            g = {k: x * min(1.0, opt.clipnorm / (norm + 1e-6)) for k, x in g.items()}
        lr = opt.lr * ((math.cos((t - 1) * 2 * math.pi / opt.lr_cos) + 1) / 2 if opt.lr_cos else 1)
        for k in p:
            if opt.kind == "adabelief":
                m[k] = opt.beta1 * m[k] + (1 - opt.beta1) * g[k]
                v[k] = opt.beta2 * v[k] + (1 - opt.beta2) * (g[k] - m[k]) ** 2
                p[k] = p[k] - lr * m[k] / (np.sqrt(v[k]) + opt.eps)
            else:
                v[k] = opt.rho * v[k] + (1 - opt.rho) * g[k] ** 2
                p[k] = p[k] - lr * g[k] / (np.sqrt(v[k]) + opt.eps)
    return p


def engine(name, opt, mode=1):
    eng = get_engine(name, "cpu" if name == "torch" else None,
                     **({"precision": "fp32"} if name == "torch" else {}))
    eng.init_params(SPECS, seed=1)
    eng.set_optimizers([opt])
    eng.set_optimizer_offload(mode)
    return eng


def run(eng, steps):
    step = eng.train_step(loss_fn)
    for _ in range(steps):
        step({"x": X, "y": Y})
    return {k: eng.to_numpy(v) for k, v in eng.params.items()}


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("opt", [AdaBelief(lr=1e-2), AdaBelief(lr=1e-2, lr_cos=4, clipnorm=0.05),
                                 RMSprop(lr=1e-2, eps=1e-6, lr_cos=3)], ids=["adabelief", "cos+clip",
                                                                            "rmsprop-cos"])
@pytest.mark.parametrize("mode", [1, 3])
def test_update_rules_match_deepfacelab(name, opt, mode):
    """mode 3: the OpenCL engine's host-side (numpy) update must follow the same rule."""
    eng = engine(name, opt, mode)
    start = {k: eng.to_numpy(v).copy() for k, v in eng.params.items()}
    got, want = run(eng, 6), reference(opt, start, 6)
    for k in got:
        np.testing.assert_allclose(got[k], want[k], rtol=2e-4, atol=2e-6)
    assert not np.allclose(got["w"], start["w"])
    # AdaBelief differs from RMSprop, clipping and the cosine change the result
    if opt.kind == "adabelief" and not opt.lr_cos:
        assert not np.allclose(want["w"], reference(RMSprop(lr=1e-2, eps=1e-6), start, 6)["w"], atol=1e-4)
        assert not np.allclose(want["w"], reference(AdaBelief(lr=1e-2, clipnorm=0.05), start, 6)["w"],
                               atol=1e-4)


@pytest.mark.parametrize("name", ENGINES)
def test_lr_dropout_moves_a_share_of_the_weights_and_resumes_exactly(name, tmp_path):
    big = {"w": ParamSpec((64, 64))}

    def lf(F, P, b):
        return {"loss": F.mean(P["w"] * P["w"])}

    def make():
        eng = get_engine(name, "cpu" if name == "torch" else None,
                         **({"precision": "fp32"} if name == "torch" else {}))
        eng.init_params(big, seed=2)
        eng.set_optimizers([AdaBelief(lr=1e-2, lr_dropout=0.3)])
        return eng

    eng = make()
    step = eng.train_step(lf)
    w0 = eng.to_numpy(eng.params["w"]).copy()
    step({})
    w1 = eng.to_numpy(eng.params["w"]).copy()
    moved = float((w1 != w0).mean())
    assert 0.25 < moved < 0.35, moved          # DFL: lr_dropout 0.3 keeps 30 % of the updates
    step({})
    w2 = eng.to_numpy(eng.params["w"]).copy()
    assert not np.array_equal(w1 != w0, w2 != w1)          # a new mask each step
    eng.save(tmp_path / "m.safetensors")
    step({})
    want = eng.to_numpy(eng.params["w"]).copy()
    again = make()
    again.load(tmp_path / "m.safetensors")
    again.train_step(lf)({})
    np.testing.assert_array_equal(again.to_numpy(again.params["w"]), want)


def test_one_cycle_schedule_warms_up_then_decays():
    """`warmup`/`decay` (the mask network's schedule): 4% of lr at the first update, lr after
    the warm-up, a cosine down to 1e-4 lr at update `decay`, and no lower after it."""
    from backends.optim import Adam, lr_at

    o = Adam(lr=1.0, warmup=10, decay=100)
    rates = [lr_at(o, t) for t in range(1, 121)]
    assert rates[0] == pytest.approx(0.04) and rates[10] == pytest.approx(1.0)
    assert all(a < b for a, b in zip(rates[:10], rates[1:11]))       # rising
    assert all(a > b for a, b in zip(rates[10:99], rates[11:100]))   # falling
    assert rates[100] == pytest.approx(1e-4) and min(rates) == pytest.approx(1e-4)
    assert lr_at(Adam(lr=1.0), 50) == 1.0                            # off by default
