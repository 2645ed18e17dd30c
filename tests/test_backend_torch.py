"""Torch engine: the layer API trains, saves engine-neutral files and reloads them exactly."""

import numpy as np
import pytest

from backends.errors import BackendError
from backends import get_engine
from backends import layers as L
from backends.example import TinyAutoencoder, loss_fn, sample_batch
from backends.optim import Adam, RMSprop


def _engine(precision="fp32", seed=0, opts=None):
    model = TinyAutoencoder()
    eng = get_engine("torch", "cpu", precision=precision)
    eng.init_params(model.specs(), seed=seed)
    eng.set_optimizers(opts or [Adam(lr=3e-3)])
    return model, eng


def test_param_names_and_seeded_init_are_stable():
    m = TinyAutoencoder()
    specs = m.specs()
    assert "down1.conv.weight" in specs and specs["down1.conv.weight"].shape == (8, 3, 5, 5)
    assert m.up1.param_names() == ["up1.conv.weight", "up1.conv.bias"]
    a = L.init_params(specs, 3)
    b = L.init_params(dict(reversed(list(specs.items()))), 3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    c = L.init_params(specs, 4)
    assert not np.array_equal(a["down1.conv.weight"], c["down1.conv.weight"])


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_lowers_loss(precision):
    model, eng = _engine(precision)
    step = eng.train_step(loss_fn(model))
    batch = sample_batch()
    first = step(batch)["loss"]
    for _ in range(40):
        last = step(batch)["loss"]
    assert last < first * 0.8, (first, last)


def test_save_load_roundtrip_continues_identically(tmp_path):
    model, eng = _engine()
    step = eng.train_step(loss_fn(model))
    batch = sample_batch()
    for _ in range(3):
        step(batch)
    eng.save(tmp_path / "m.safetensors", {"iter": 3})
    sd = eng.state_dict()
    assert "opt/opt/step" in sd and int(sd["opt/opt/step"][0]) == 3
    assert "opt/opt/down1.conv.weight/m" in sd
    after_a = step(batch)["loss"]

    model2, eng2 = _engine(seed=99)
    assert eng2.load(tmp_path / "m.safetensors") == {"iter": 3}
    after_b = eng2.train_step(loss_fn(model2))(batch)["loss"]
    assert after_b == pytest.approx(after_a, rel=1e-5)


def test_two_optimizers_on_separate_losses():
    model = TinyAutoencoder()
    eng = get_engine("torch", "cpu", precision="fp32")
    eng.init_params(model.specs(), 0)
    enc = L.names(model.down1, model.down2, model.enc_dense)
    dec = [n for n in eng.params if n not in enc]
    eng.set_optimizers([Adam("enc", "loss_a", enc, lr=1e-3), RMSprop("dec", "loss_b", dec, lr=1e-3)])
    before = {k: v.detach().clone() for k, v in eng.params.items()}

    def fn(F, P, batch):
        y = model(F, P, batch["x"])
        return {"loss_a": F.mse(y, batch["x"]), "loss_b": F.mae(y, batch["x"])}
    losses = eng.train_step(fn)(sample_batch())
    assert set(losses) == {"loss_a", "loss_b"}
    assert all(not np.array_equal(before[k].numpy(), eng.to_numpy(eng.params[k])) for k in eng.params if k.endswith("weight"))
    sd = eng.state_dict()
    assert "opt/dec/to_rgb.weight/v" in sd and "opt/dec/to_rgb.weight/m" not in sd


def test_ops_semantics():
    eng = get_engine("torch", "cpu", precision="fp32")
    F = eng.F
    import torch
    x = torch.arange(2 * 8 * 3 * 3, dtype=torch.float32).reshape(2, 8, 3, 3)
    assert torch.equal(F.depth_to_space(x, 2), torch.nn.functional.pixel_shuffle(x, 2))
    assert torch.equal(F.space_to_depth(F.depth_to_space(x, 2), 2), x)
    img = torch.rand(2, 3, 32, 32)
    assert float(F.dssim(img, img)) == pytest.approx(0.0, abs=1e-6)
    assert float(F.dssim(img, torch.rand(2, 3, 32, 32))) > 0.1
    assert F.gaussian_blur(img, 2.0).shape == img.shape
    assert float(F.style_loss(img, img)) == pytest.approx(0.0, abs=1e-6)


def test_mismatched_file_is_a_user_error(tmp_path):
    _, eng = _engine()
    eng.save(tmp_path / "m.safetensors")
    big = TinyAutoencoder(res=32)
    eng2 = get_engine("torch", "cpu", precision="fp32")
    eng2.init_params(big.specs(), 0)
    with pytest.raises(BackendError, match="does not match"):
        eng2.load(tmp_path / "m.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(BackendError, match="bad.safetensors"):
        eng2.load(tmp_path / "bad.safetensors")
