"""OpenCL engine (tinygrad on PoCL or a GPU) against the torch engine: same seed -> same outputs,
training lowers the loss along the same trajectory, and files cross-load both ways.

tinygrad compiles every kernel on first use (slow on a 2-core CPU), so one tiny net is compiled
once per module and shared by the tests.
"""

import numpy as np
import pytest

from backends.errors import BackendError
from backends import get_engine
from backends import layers as L
from backends.devices import list_opencl
from backends.optim import Adam

pytestmark = pytest.mark.skipif(not any(d.usable for d in list_opencl()),
                                reason="no usable OpenCL device")


class MicroAE(L.Module):
    """Smallest net that still uses every layer kind: conv, downscale, dense, upscale, resblock."""

    def __init__(self):
        self.down = L.Downscale(3, 4, k=3)
        self.enc = L.Dense(4 * 4 * 4, 16)
        self.dec = L.Dense(16, 4 * 4 * 4)
        self.up = L.Upscale(4, 4)
        self.res = L.ResBlock(4)
        self.out = L.Conv2D(4, 3, 3)

    def __call__(self, F, P, x):
        z = self.enc(F, P, F.flatten(self.down(F, P, x)))
        y = F.reshape(self.dec(F, P, z), (x.shape[0], 4, 4, 4))
        return F.sigmoid(self.out(F, P, self.res(F, P, self.up(F, P, y))))


MODEL = MicroAE()
SPECS = MODEL.specs()


def loss_fn(F, P, b):
    y = MODEL(F, P, b["x"])
    return {"loss": 10 * F.dssim(b["x"], y, kernel_size=3) + 10 * F.mse(b["x"], y)}


def predict_fn(F, P, b):
    return MODEL(F, P, b["x"])


def batch(seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.random((2, 3, 8, 8), dtype=np.float32)}


def make(name):
    eng = get_engine(name, "cpu" if name == "torch" else None, **({"precision": "fp32"} if name == "torch" else {}))
    eng.init_params(SPECS, seed=7)
    eng.set_optimizers([Adam(lr=1e-2)])
    return eng


@pytest.fixture(scope="module")
def run():
    """Both engines, same seed, five steps each; the OpenCL step is compiled once here."""
    cl, th = make("opencl"), make("torch")
    out = {"cl": cl, "th": th, "cl_step": cl.train_step(loss_fn), "th_step": th.train_step(loss_fn)}
    out["pred"] = (cl.predict(predict_fn, batch()), th.predict(predict_fn, batch()))
    out["cl_losses"] = [out["cl_step"](batch())["loss"] for _ in range(5)]
    out["th_losses"] = [out["th_step"](batch())["loss"] for _ in range(5)]
    return out


def test_same_seed_same_outputs(run):
    a, b = run["pred"]
    assert a.shape == b.shape == (2, 3, 8, 8)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_training_lowers_loss_on_the_torch_trajectory(run):
    cl, th = run["cl_losses"], run["th_losses"]
    assert cl[-1] < cl[0] and th[-1] < th[0]
    np.testing.assert_allclose(cl, th, rtol=1e-3)


def test_files_cross_load_and_training_continues(run, tmp_path):
    cl, th = run["cl"], run["th"]
    # OpenCL -> torch: a fresh torch engine loaded from the OpenCL file takes the same next step
    cl.save(tmp_path / "cl.safetensors", {"iter": 5})
    th2 = make("torch")
    assert th2.load(tmp_path / "cl.safetensors") == {"iter": 5}
    assert int(th2.state_dict()["opt/opt/step"][0]) == 5
    nxt_th2 = th2.train_step(loss_fn)(batch())["loss"]
    nxt_cl = run["cl_step"](batch())["loss"]
    assert nxt_th2 == pytest.approx(nxt_cl, rel=1e-3)
    # torch -> OpenCL: load into the compiled engine (same buffers) and keep training
    th.save(tmp_path / "th.safetensors")
    cl.load(tmp_path / "th.safetensors")
    np.testing.assert_allclose(cl.to_numpy(cl.params["out.weight"]), th.to_numpy(th.params["out.weight"]))
    a, b = run["cl_step"](batch())["loss"], run["th_step"](batch())["loss"]
    assert a == pytest.approx(b, rel=1e-3)


def test_missing_opencl_device_lists_what_exists():
    with pytest.raises(BackendError, match="no OpenCL device with idx 99"):
        get_engine("opencl", 99)


def test_assigned_weights_reach_the_compiled_engines_and_leave_the_optimizer(run):
    """What merge does with a weight average (app.models.weight_average) on either engine: the
    next prediction uses the assigned weights; the optimizer's state stays as it was."""
    for eng in (run["cl"], run["th"]):
        before = eng.predict(predict_fn, batch())
        opt_state = {k: v for k, v in eng.state_dict().items() if k.startswith("opt/")}
        halved = {k: eng.to_numpy(v) * 0.5 for k, v in eng.params.items()}
        eng.assign_weights(halved)
        np.testing.assert_allclose(eng.to_numpy(eng.params["out.weight"]), halved["out.weight"])
        assert np.abs(eng.predict(predict_fn, batch()) - before).max() > 1e-4
        after = {k: v for k, v in eng.state_dict().items() if k.startswith("opt/")}
        assert all(np.array_equal(opt_state[k], after[k]) for k in opt_state)
        with pytest.raises(BackendError, match="out.weight"):
            eng.assign_weights({"out.weight": np.zeros((1, 1), np.float32)})
