"""Trainer: exact resume, backups, target iteration, clear errors, preview files, predictor."""

import json
from pathlib import Path

import numpy as np
import pytest

from app.errors import UserError
from app.train.trainer import Trainer

MEDIA = Path(__file__).parent / "media" / "train"
TINY = {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21, "d_ch_dims": 11}
GEN = {"batch_size": 2}


def trainer(model_dir, src=MEDIA / "src", name="SAE", options=TINY, general=GEN, seed=7):
    return Trainer(src, MEDIA / "dst", model_dir, name, options=options, general=general,
                   seed=seed, progress=False, log=lambda *a: None)


def test_stop_and_resume_gives_the_same_loss_curve(tmp_path):
    whole = trainer(tmp_path / "a").run(max_steps=4, window=False).history
    trainer(tmp_path / "b").run(max_steps=2, window=False)
    resumed = trainer(tmp_path / "b", options=None, general=None, seed=None)
    assert resumed.iteration == 2 and resumed.seed == 7
    halves = resumed.run(max_steps=2, window=False).history
    assert len(halves) == 4
    np.testing.assert_allclose(np.array(halves), np.array(whole), rtol=1e-5, atol=1e-6)


def test_target_iteration_saves_and_stops(tmp_path):
    r = trainer(tmp_path, general={**GEN, "target_iter": 2}).run(window=False)
    assert r.stopped == "target" and r.iteration == 2
    data = json.loads((tmp_path / "SAE_data.json").read_text())
    assert data["iteration"] == 2 and len(data["loss_history"]) == 2
    again = trainer(tmp_path, options=None, general=None).run(window=False)
    assert again.stopped == "target" and again.iteration == 2


def test_backups_rotate_and_an_interrupted_save_falls_back(tmp_path):
    t = trainer(tmp_path)
    for _ in range(3):
        t.run(max_steps=1, window=False)
    b1 = json.loads((tmp_path / "SAE_backups" / "1" / "SAE_data.json").read_text())
    b2 = json.loads((tmp_path / "SAE_backups" / "2" / "SAE_data.json").read_text())
    assert (b1["iteration"], b2["iteration"]) == (2, 1)
    # a kill between the weights and the data write: weights of a newer save, old data
    data = json.loads((tmp_path / "SAE_data.json").read_text())
    data["save_id"] = "interrupted"
    (tmp_path / "SAE_data.json").write_text(json.dumps(data))
    resumed = trainer(tmp_path, options=None, general=None)
    assert resumed.iteration == 2


def test_fixed_option_cannot_change_but_overridable_can(tmp_path):
    trainer(tmp_path).run(max_steps=1, window=False)
    with pytest.raises(UserError, match="resolution is 64"):
        trainer(tmp_path, options={"resolution": 96})
    t = trainer(tmp_path, options={"face_style_power": 20, "pixel_loss": True},
                general={"batch_size": 3})
    assert t.options["face_style_power"] == 20 and t.options["pixel_loss"] is True
    assert t.general["batch_size"] == 3


def test_model_folder_of_another_model_or_tool(tmp_path):
    trainer(tmp_path).run(max_steps=1, window=False)
    for f in tmp_path.glob("SAE_*.*"):
        f.rename(tmp_path / f.name.replace("SAE", "H64"))
    with pytest.raises(UserError, match="belongs to a SAE model"):
        trainer(tmp_path, name="H64", options=None)
    other = tmp_path / "dfl"
    other.mkdir()
    (other / "SAE_encoder.h5").write_bytes(b"\x89HDF")
    with pytest.raises(UserError, match="another tool"):
        trainer(other)


def test_empty_face_set_is_a_user_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="extract"):
        trainer(tmp_path / "m", src=tmp_path / "empty")


def test_preview_png_history_and_predictor(tmp_path):
    from app import ALTERED_MEDIA_LABEL
    from app.models import load_predictor
    t = trainer(tmp_path, general={**GEN, "write_preview_history": True})
    t.run(max_steps=2, window=False)
    png = (tmp_path / "SAE_preview.png").read_bytes()
    assert ALTERED_MEDIA_LABEL.encode() in png
    assert len(list((tmp_path / "SAE_history").glob("*.png"))) >= 2
    p = load_predictor(tmp_path, "SAE")
    assert (p.resolution, p.face_type, p.learned_mask, p.iteration) == (64, "full", True, 2)
    face, mask = p.predict(np.random.default_rng(0).random((3, 64, 64, 3), np.float32))
    assert face.shape == (3, 64, 64, 3) and mask.shape == (3, 64, 64, 1)
    # same weights, same answer on the dst faces
    again = load_predictor(tmp_path, "SAE").predict(np.zeros((1, 64, 64, 3), np.float32))[0]
    assert np.allclose(again, p.predict(np.zeros((1, 64, 64, 3), np.float32))[0], atol=1e-6)


def test_gpu_prefixed_model_files(tmp_path):
    from app.models import load_predictor
    Trainer(MEDIA / "src", MEDIA / "dst", tmp_path, "SAE", options=TINY, general=GEN, prefix="0_",
            progress=False, log=lambda *a: None).run(max_steps=1, window=False)
    assert (tmp_path / "0_SAE_weights.safetensors").is_file()
    assert load_predictor(tmp_path, "SAE").iteration == 1
    assert load_predictor(tmp_path, "0_SAE").iteration == 1


def test_learning_rate_option_changes_the_updates_and_is_saved(tmp_path):
    slow = trainer(tmp_path / "slow", general={**GEN, "learning_rate": 5e-5}).run(
        max_steps=3, window=False).history
    fast = trainer(tmp_path / "fast", general={**GEN, "learning_rate": 1e-3}).run(
        max_steps=3, window=False).history
    np.testing.assert_allclose(slow[0], fast[0], rtol=1e-6)  # same start: same seed and batch
    assert not np.allclose(slow[-1], fast[-1], rtol=1e-4)      # different steps after it
    resumed = trainer(tmp_path / "fast", options=None, general=None, seed=None)
    assert resumed.general["learning_rate"] == 1e-3


def test_a_save_removes_what_a_killed_save_left(tmp_path):
    t = trainer(tmp_path)
    t.run(max_steps=1, window=False)
    stale = tmp_path / f".{t.files.weights.name}.abc123.tmp.safetensors"
    stale.write_bytes(b"half a model")
    other = tmp_path / ".unrelated.tmp"
    other.write_bytes(b"not ours")
    t.save()
    assert not stale.exists() and other.exists()


def test_optimizer_mode_override_reaches_the_engine_on_resume(tmp_path):
    """SAE's optimizer mode is overridable: a later run with another mode hands it to the engine
    before the saved optimizer state is loaded, saves it, and continues the same curve (on the
    CPU the state is in host RAM in every mode, so the losses are those of mode 1)."""
    whole = trainer(tmp_path / "a").run(max_steps=3, window=False).history
    first = trainer(tmp_path / "b")
    assert first.engine.offload_mode == 1
    first.run(max_steps=1, window=False)
    resumed = trainer(tmp_path / "b", options={"optimizer_mode": 3}, general=None, seed=None)
    assert resumed.engine.offload_mode == 3 and resumed.options["optimizer_mode"] == 3
    curve = resumed.run(max_steps=2, window=False).history
    np.testing.assert_allclose(np.array(curve), np.array(whole), rtol=1e-5, atol=1e-6)
    saved = json.loads((tmp_path / "b" / "SAE_data.json").read_text())
    assert saved["options"]["optimizer_mode"] == 3
    again = trainer(tmp_path / "b", options=None, general=None, seed=None)
    assert again.engine.offload_mode == 3


def test_out_of_memory_in_a_step_is_one_clear_message(tmp_path):
    t = trainer(tmp_path)
    t.run(max_steps=1, window=False)

    def oom(batch):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate "
                           "21474836480 bytes")
    t._step = oom
    with pytest.raises(UserError, match="out of memory at batch size 2: lower the batch size"):
        t.run(max_steps=1, window=False)
    assert json.loads((tmp_path / "SAE_data.json").read_text())["iteration"] == 1  # kept


def test_saves_every_n_minutes_while_training(tmp_path):
    """save_every_min=0: a save after every step (the CLI's --save-every MIN), each backed up."""
    r = trainer(tmp_path).run(max_steps=3, save_every_min=0, window=False)
    assert r.iteration == 3
    its = [json.loads((tmp_path / "SAE_backups" / k / "SAE_data.json").read_text())["iteration"]
           for k in ("1", "2")]
    assert its == [2, 1]     # saved at 1 and 2 while training, then 3 on exit
