"""`python -m app train`: headless run, resume, clear errors, later-run override questions."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MEDIA = Path(__file__).parent / "media" / "train"
TINY = ["--option", "resolution=64", "--option", "ae_dims=128", "--option", "e_ch_dims=21",
        "--option", "d_ch_dims=11"]


@pytest.fixture
def ws(tmp_path):
    shutil.copytree(MEDIA / "src", tmp_path / "data_src" / "aligned")
    shutil.copytree(MEDIA / "dst", tmp_path / "data_dst" / "aligned")
    return tmp_path


def app(ws, *args):
    env = {"FACESTUDIO_ASK": "0", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "app", "--workspace", str(ws), "train", *args],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=300)


def test_train_headless_then_resume_and_errors(ws):
    r = app(ws, "SAE", *TINY, "--batch-size", "2", "--target-iter", "2", "--no-window")
    assert r.returncode == 0, r.stderr
    assert "stopped (target) at iteration 2" in r.stdout
    assert (ws / "model" / "SAE_weights.safetensors").is_file()
    assert (ws / "model" / "SAE_preview.png").is_file()
    r = app(ws, "SAE", "--target-iter", "3", "--no-window")
    assert r.returncode == 0 and "at iteration 3" in r.stdout
    r = app(ws, "SAE", "--option", "resolution=96", "--no-window")
    assert r.returncode == 2 and "resolution is 64" in r.stderr
    shutil.rmtree(ws / "data_dst" / "aligned")
    r = app(ws, "H64", "--no-window")
    assert r.returncode == 2 and "extract" in r.stderr and "Traceback" not in r.stderr


def test_later_run_asks_only_overridable_options(monkeypatch):
    from app.cli import cmd_train
    from app.models import model_class
    asked = []
    monkeypatch.setattr(cmd_train, "interactive", lambda: True)
    monkeypatch.setattr(cmd_train, "_enter_within", lambda s: True)
    monkeypatch.setattr(cmd_train, "_ask", lambda o, default, chosen: asked.append(o.key) or default)
    saved = {"general": {"batch_size": 8, "target_iter": 0, "random_flip": True,
                         "sort_by_yaw": False, "src_scale_mod": 0, "write_preview_history": False},
             "options": {"resolution": 128, "archi": "df", "face_style_power": 0.0,
                         "bg_style_power": 0.0, "pixel_loss": False, "optimizer_mode": 1}}
    out = cmd_train._override(model_class("SAE"), saved, {"batch_size": 4})
    assert out["batch_size"] == 4 and "batch_size" not in asked
    assert {"face_style_power", "pixel_loss", "random_flip", "optimizer_mode"} <= set(asked)
    assert "resolution" not in asked and "archi" not in asked


def test_train_api_with_a_time_budget(ws):
    from app.train.api import train
    tiny = {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21, "d_ch_dims": 11}
    r = train(ws, "SAE", options=tiny, general={"batch_size": 2}, time_budget_s=0)
    assert r.stopped == "time" and r.iteration == 1
    r = train(ws, "SAE", max_steps=2)
    assert r.stopped == "steps" and r.iteration == 3 and len(r.history) == 3
    assert (ws / "model" / "SAE_data.json").is_file()


def test_first_run_asks_every_trainer_then_model_question_in_order(monkeypatch):
    from app.cli import cmd_train
    from app.models import model_class
    from app.errors import UserError
    from app.models.options import GENERAL
    asked = []

    def answer(o, default, chosen):
        asked.append(o.key)
        return "vg" if o.key == "archi" else default
    monkeypatch.setattr(cmd_train, "_ask", answer)
    out = cmd_train._first_run(model_class("SAE"), {"batch_size": 4})
    general = [o.key for o in GENERAL if o.key != "batch_size"]
    assert asked[:len(general)] == general          # GPU idx is asked by _choose_device
    assert out["batch_size"] == 4 and "batch_size" not in asked
    assert asked[len(general):] == ["resolution", "face_type", "learn_mask", "optimizer_mode",
                                    "archi", "ae_dims", "e_ch_dims", "d_ch_dims",
                                    "remove_gray_border", "lighter_encoder", "pixel_loss",
                                    "eyes_mouth_prio", "face_style_power", "bg_style_power"]
    # DFL does not ask vg for a multiscale or residual decoder (vg has its own blocks)
    assert "multiscale_decoder" not in out and "d_residual_blocks" not in out
    with pytest.raises(UserError, match="multiscale_decoder .*not available"):   # as a flag
        cmd_train._first_run(model_class("SAE"), {"archi": "vg", "multiscale_decoder": "y"})


def test_override_prompt_waits_two_seconds_for_enter(monkeypatch, capsys):
    """DFL's "Press enter in 2 seconds to override some model settings.": Enter within the time
    opens the questions; nothing typed goes on with the saved settings."""
    import os
    from app.cli import cmd_train
    read, write = os.pipe()
    with os.fdopen(read) as stdin, os.fdopen(write, "w") as typed:
        monkeypatch.setattr("sys.stdin", stdin)
        assert cmd_train._enter_within(0.3) is False
        typed.write("\n")
        typed.flush()
        assert cmd_train._enter_within(2.0) is True
    out = capsys.readouterr().out
    assert "Press enter in 2 seconds to override some model settings." in out
