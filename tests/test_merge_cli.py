"""`python -m app merge`: flags, DeepFaceLab-style questions, clear errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from tests.conftest import MEDIA, REPO


@pytest.fixture
def ws(tmp_path) -> Path:
    shutil.copytree(MEDIA / "merge" / "dst", tmp_path / "data_dst")
    return tmp_path


def app(ws: Path, *args: str, stdin: str | None = None, ask: str = "0"):
    env = dict(os.environ, FACESTUDIO_ASK=ask, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "app", "--workspace", str(ws), "merge", *args],
                          input=stdin, capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=300)


def test_headless_run_with_flags(ws):
    r = app(ws, "--test-predictor", "--mode", "hist-match", "--erode", "30", "--color-transfer",
            "lct", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "merged 7 frames" in r.stdout and "copied 1" in r.stdout
    settings = json.loads((ws / "data_dst/merged/.merge_settings.json").read_text())
    assert settings["mode"] == "hist-match" and settings["erode_mask_modifier"] == 30
    assert settings["color_transfer"] == "lct"
    assert len(list((ws / "data_dst/merged").glob("*.jpg"))) == 8


def test_questions_are_asked_in_order_and_answers_used(ws):
    answers = "\n".join(["n", "1", "2", "50", "", "", "2", "n", "2", "5", "", "y"]) + "\n"
    r = app(ws, "--test-predictor", "--workers", "0", stdin=answers, ask="1")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    order = ["Debug mode", "Choose mode", "Mask mode", "erode mask", "blur mask",
             "output face scale", "color transfer", "super resolution", "sharpen mode",
             "blur/sharpen amount", "Degrade color", "alpha channel"]
    positions = [out.find(q) for q in order]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), out
    settings = json.loads((ws / "data_dst/merged/.merge_settings.json").read_text())
    assert settings["mode"] == "overlay" and settings["mask_mode"] == "dst"
    assert settings["erode_mask_modifier"] == 50 and settings["color_transfer"] == "rct"
    assert settings["export_alpha"] is True
    assert settings["sharpen_mode"] == "box" and settings["blursharpen_amount"] == 5
    img = cv2.imread(str(ws / "data_dst/merged/00001.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape[2] == 4


def test_seamless_asks_its_own_questions(ws):
    answers = "\n".join(["", "4", "y", "y", "n", "200"]) + "\n" + "\n" * 10
    r = app(ws, "--test-predictor", "--workers", "0", stdin=answers, ask="1")
    assert r.returncode == 0, r.stderr
    assert "Suppress seamless jitter" in r.stdout and "Seamless hist match" in r.stdout
    assert "Masked hist match" in r.stdout  # seamless hist match honours it, as in DFL 1.0
    settings = json.loads((ws / "data_dst/merged/.merge_settings.json").read_text())
    assert settings["suppress_seamless_jitter"] and settings["seamless_hist_match"]
    assert settings["masked_hist_match"] is False
    assert settings["hist_match_threshold"] == 200


def test_fan_mask_mode_trains_the_mask_network_once_then_merges(ws):
    r = app(ws, "--test-predictor", "--mode", "overlay", "--mask-mode", "FAN-dst",
            "--masknet-steps", "4", "--workers", "0")
    assert r.returncode == 0, r.stderr
    assert "mask network on 1 held-out faces" in r.stdout and "merged 7 frames" in r.stdout
    assert "warning: the mask network does not fit" in r.stdout  # 4 steps: says to train longer
    weights = ws / "model" / "masknet.safetensors"
    info = json.loads((ws / "model" / "masknet.json").read_text())
    assert weights.is_file() and info["steps"] == 4 and info["face_type"] == "full"
    stamp = weights.stat().st_mtime_ns
    r = app(ws, "--test-predictor", "--mode", "overlay", "--mask-mode", "FAN-prd*FAN-dst",
            "--workers", "0", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert "training" not in r.stdout and weights.stat().st_mtime_ns == stamp  # reused


def test_super_resolution_is_trained_on_src_faces_and_reports_against_bicubic(ws):
    shutil.copytree(MEDIA / "merge" / "src_faces", ws / "data_src" / "aligned")
    r = app(ws, "--test-predictor", "--mode", "overlay", "--super-resolution",
            "--superres-steps", "3", "--workers", "0")
    assert r.returncode == 0, r.stderr
    assert "PSNR" in r.stdout and "bicubic" in r.stdout and "merged 7 frames" in r.stdout
    assert "warning: the upscaler is not better than bicubic" in r.stdout  # 3 steps
    info = json.loads((ws / "model" / "superres_x2.json").read_text())
    assert info["steps"] == 3 and info["size"] == 256


def test_fan_mask_mode_answer_goes_on_to_the_next_question(ws):
    answers = "\n".join(["", "1", "4"]) + "\n" + "\n" * 10
    r = app(ws, "--test-predictor", "--workers", "0", "--masknet-steps", "2", stdin=answers,
            ask="1")
    assert r.returncode == 0, r.stderr
    assert "erode mask" in r.stdout
    settings = json.loads((ws / "data_dst/merged/.merge_settings.json").read_text())
    assert settings["mask_mode"] == "FAN-dst"


def test_mask_train_command(ws):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    base = [sys.executable, "-m", "app", "--workspace", str(ws), "mask", "train"]
    r = subprocess.run(base + ["--steps", "3", "--resolution", "64", "--sides", "dst",
                               "--engine", "torch", "--device", "cpu"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "(CPU requested)" in r.stdout, r.stdout
    info = json.loads((ws / "model" / "masknet.json").read_text())
    assert info["resolution"] == 64 and info["steps"] == 3 and "iou_clean" in info
    assert info["engine"] == "torch"
    assert not (ws / "model" / "masknet_training").exists()  # the finished run's checkpoint
    r = subprocess.run(base + ["--resolution", "100"], capture_output=True, text=True, env=env,
                       cwd=REPO, timeout=300)
    assert r.returncode == 2 and "multiple of 32" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(base + ["--sides", "src"], capture_output=True, text=True, env=env,
                       cwd=REPO, timeout=300)
    assert r.returncode == 2 and "extract" in r.stderr and "Traceback" not in r.stderr


def test_no_model_is_a_clear_error(ws):
    r = app(ws)
    assert r.returncode == 2 and "train" in r.stderr and "Traceback" not in r.stderr


def test_no_dst_frames_is_a_clear_error(tmp_path):
    r = app(tmp_path, "--test-predictor")
    assert r.returncode == 2 and "video extract dst" in r.stderr


def test_device_flag_takes_a_gpu_idx_or_cpu(ws):
    r = app(ws, "--test-predictor", "--device", "cpu", "--workers", "0")
    assert r.returncode == 0, r.stderr
    r = app(ws, "--test-predictor", "--device", "banana")
    assert r.returncode == 2 and "GPU idx" in r.stderr and "Traceback" not in r.stderr
    r = app(ws, "--test-predictor", "--device", "7")
    assert r.returncode == 2 and "no GPU with idx 7" in r.stderr


def test_a_flag_the_answers_do_not_use_is_refused_not_ignored(ws):
    """`--sharpen 5` in a raw mode, or seamless hist match in an overlay, would change nothing:
    one clear message naming the flag and what to do, nothing merged. The flag at its default
    value is accepted."""
    for flags, named in ((("--mode", "raw", "--sharpen", "5"), "--sharpen 5"),
                         (("--mode", "overlay", "--seamless-hist-match"), "--seamless-hist-match"),
                         (("--mode", "seamless", "--raw-mode", "rgb"), "--raw-mode rgb")):
        r = app(ws, "--test-predictor", "--workers", "0", *flags)
        assert r.returncode != 0, flags
        assert named in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not (ws / "data_dst/merged").exists()
    r = app(ws, "--test-predictor", "--workers", "0", "--mode", "raw", "--raw-mode", "rgb",
            "--sharpen", "0")
    assert r.returncode == 0, r.stderr


def test_the_demo_merge_flags_are_accepted_and_merge_overlay(ws):
    """The demo passes its merge as flags (app/cli/demo.py): they must combine without a refusal
    and give DeepFaceLab 2.0's overlay; the bench's seamless rows add --mode seamless after them,
    and the later flag wins."""
    from app.cli.demo import BASE_MERGE_FLAGS, SEAMLESS_MERGE_FLAGS, SHARPER_MERGE_FLAGS

    # the upscaler needs src faces, which this workspace has not
    sharpen = tuple(f for f in SHARPER_MERGE_FLAGS if f != "--super-resolution")
    for extra, mode in (((), "overlay"), (SEAMLESS_MERGE_FLAGS, "seamless")):
        r = app(ws, "--test-predictor", "--workers", "0", "--overwrite", *BASE_MERGE_FLAGS,
                *sharpen, *extra)
        assert r.returncode == 0, r.stderr
        settings = json.loads((ws / "data_dst/merged/.merge_settings.json").read_text())
        assert settings["mode"] == mode and settings["color_transfer"] == "rct"
        assert settings["mask_mode"] == "dst" and settings["blursharpen_amount"] == 2
