"""Optimizer offload (DeepFaceLab's SAE "optimizer mode" 1/2/3) on both engines: the state really
lives where the mode says, training follows the same loss trajectory in every mode, the mode can
change mid-run, and optimizer state still saves and loads."""

import numpy as np
import pytest
import torch

from backends import get_engine
from backends.devices import list_opencl
from backends.example import TinyAutoencoder, loss_fn as tiny_loss, sample_batch
from backends.optim import Adam, RMSprop

from test_backend_opencl import SPECS as MICRO_SPECS, batch as micro_batch, loss_fn as micro_loss

needs_cl = pytest.mark.skipif(not any(d.usable for d in list_opencl()), reason="no usable OpenCL device")


def _torch(mode, opts=None):
    model = TinyAutoencoder()
    eng = get_engine("torch", "cpu", precision="fp32")
    eng.init_params(model.specs(), seed=0)
    eng.set_optimizer_offload(mode)        # before set_optimizers
    eng.set_optimizers(opts or [Adam(lr=3e-3)])
    return eng, eng.train_step(tiny_loss(model))


def _cl(mode):
    eng = get_engine("opencl")
    eng.init_params(MICRO_SPECS, seed=7)
    eng.set_optimizers([Adam(lr=1e-2, clipnorm=1.0)])
    eng.set_optimizer_offload(mode)        # after set_optimizers
    return eng, eng.train_step(micro_loss)


def test_bad_mode_is_refused():
    eng = get_engine("torch", "cpu", precision="fp32")
    for bad in (0, 4, True, "2"):
        with pytest.raises(ValueError, match="1, 2 or 3"):
            eng.set_optimizer_offload(bad)


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_torch_modes_same_trajectory_and_state_on_host(kind):
    runs = {}
    for mode in (1, 2, 3):
        eng, step = _torch(mode, [RMSprop(lr=1e-3, clipnorm=0.5)] if kind == "rmsprop" else None)
        runs[mode] = [step(sample_batch())["loss"] for _ in range(4)]
        states = [t for st in eng._opts["opt"].state.values() for t in st.values() if isinstance(t, torch.Tensor)]
        assert states and all(t.device.type == "cpu" for t in states)
    np.testing.assert_allclose(runs[2], runs[1], rtol=1e-6)
    np.testing.assert_allclose(runs[3], runs[1], rtol=1e-6)


def test_torch_mode_change_mid_run_keeps_state_and_files_round_trip(tmp_path):
    ref, ref_step = _torch(1)
    ref_losses = [ref_step(sample_batch())["loss"] for _ in range(4)]
    eng, step = _torch(1)
    losses = [step(sample_batch())["loss"] for _ in range(2)]
    eng.set_optimizer_offload(3)
    losses += [step(sample_batch())["loss"] for _ in range(2)]
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-6)
    eng.save(tmp_path / "m.safetensors")
    other, other_step = _torch(2)
    other.load(tmp_path / "m.safetensors")
    assert int(other.state_dict()["opt/opt/step"][0]) == 4
    assert other_step(sample_batch())["loss"] == pytest.approx(ref_step(sample_batch())["loss"], rel=1e-6)


@needs_cl
def test_opencl_modes_state_on_host_same_losses_and_round_trip(tmp_path):
    runs, engines = {}, {}
    for mode in (1, 2, 3):
        eng, step = _cl(mode)
        runs[mode] = [step(micro_batch())["loss"] for _ in range(4)]
        engines[mode] = (eng, step)
        for st in eng._state.values():     # mode 1: OpenCL buffers; 2, 3: host RAM (numpy)
            for t in st.values():
                if mode == 1:
                    assert not isinstance(t, np.ndarray) and str(t.device).startswith("CL")
                else:
                    assert isinstance(t, np.ndarray)
    np.testing.assert_allclose(runs[2], runs[1], rtol=1e-4)
    np.testing.assert_allclose(runs[3], runs[1], rtol=1e-4)
    assert runs[1][-1] < runs[1][0]
    # mode 3's state saved, loaded into a mode-1 engine (device buffers): both take the same step
    e3, s3 = engines[3]
    e3.save(tmp_path / "m.safetensors", {"iter": 4})
    e1, s1 = engines[1]
    assert e1.load(tmp_path / "m.safetensors") == {"iter": 4}
    sd1, sd3 = e1.state_dict(), e3.state_dict()
    assert int(sd1["opt/opt/step"][0]) == 4
    np.testing.assert_allclose(sd1["opt/opt/out.weight/m"], sd3["opt/opt/out.weight/m"])
    assert s1(micro_batch())["loss"] == pytest.approx(s3(micro_batch())["loss"], rel=1e-4)
    # switch the compiled mode-1 engine to mode 2 mid-run: the state follows it to the host
    e1.set_optimizer_offload(2)
    assert isinstance(e1._state["opt/out.weight"]["m"], np.ndarray)
    np.testing.assert_allclose(e1.state_dict()["opt/opt/out.weight/v"], e3.state_dict()["opt/opt/out.weight/v"], rtol=1e-4)
    assert s1(micro_batch())["loss"] == pytest.approx(s3(micro_batch())["loss"], rel=1e-4)


def test_torch_offload_code_paths_forced_on_the_cpu(monkeypatch, tmp_path):
    """On a GPU, mode 3 updates host shadows of the parameters and mode 2 moves the state back and
    forth; no GPU here, so force those paths on the CPU: same trajectory, state round-trips."""
    from backends.torch_engine import TorchEngine
    ref, ref_step = _torch(1)
    ref_losses = [ref_step(sample_batch())["loss"] for _ in range(4)]
    monkeypatch.setattr(TorchEngine, "_offloads", lambda self: self.offload_mode > 1)
    for mode in (2, 3):
        eng, step = _torch(mode)
        assert bool(eng._shadow) == (mode == 3)
        losses = [step(sample_batch())["loss"] for _ in range(2)]
        eng.save(tmp_path / f"m{mode}.safetensors")
        eng2, step2 = _torch(mode)
        eng2.load(tmp_path / f"m{mode}.safetensors")
        if mode == 3:   # loaded weights reach the shadows the optimizer updates
            np.testing.assert_array_equal(eng2._shadow["to_rgb.weight"].detach().numpy(),
                                          eng2.to_numpy(eng2.params["to_rgb.weight"]))
        losses += [step2(sample_batch())["loss"] for _ in range(2)]
        np.testing.assert_allclose(losses, ref_losses, rtol=1e-6)
