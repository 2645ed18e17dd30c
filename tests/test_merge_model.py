"""Merge with a real (tiny, briefly trained) model from app.models: the mechanics end to end.

Two training steps of H64 (lightweight) on the test faces: the model is far from converged, so
this checks the plumbing (face type/resolution conversion, learned mask, files), not quality.
"""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from app import ALTERED_MEDIA_LABEL
from app.merge.options import MergeOptions
from app.merge.runner import run_merge
from app.models.files import available_models
from app.workspace import Workspace
from tests.conftest import MEDIA


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("ws")
    shutil.copytree(MEDIA / "merge" / "dst", root / "data_dst")
    shutil.copytree(MEDIA / "merge" / "src_faces", root / "data_src" / "aligned")
    from app.train.api import train

    train(Workspace(root), "H64", options={"lighter_ae": True}, general={"batch_size": 2},
          max_steps=2)
    return Workspace(root)


def test_model_is_found(ws):
    assert available_models(ws.model_dir) == ["H64"]


def test_merge_with_trained_model_writes_swapped_frames(ws):
    stats = run_merge(ws, MergeOptions(mode="overlay", mask_mode="dst", export_alpha=True),
                      workers=0, overwrite=True)
    assert (stats.merged, stats.faces) == (8, 7)
    out = cv2.imread(str(ws.merged_dir / "00003.png"), cv2.IMREAD_UNCHANGED)
    dst = cv2.imread(str(ws.frames_dir("dst") / "00003.jpg"))
    alpha = out[..., 3] > 200
    assert 2000 < alpha.sum() < 30000 and out[:20, :, 3].max() == 0
    diff = np.abs(out[..., :3].astype(int) - dst.astype(int)).mean(-1)
    assert diff[alpha].mean() > 5 * max(diff[~alpha & (out[..., 3] == 0)].mean(), 0.5)
    assert ALTERED_MEDIA_LABEL.encode() in (ws.merged_dir / "00003.png").read_bytes()


def test_half_face_model_pastes_a_half_face_square(ws):
    raw = run_merge(ws, MergeOptions(mode="raw", raw_mode="mask-only"), workers=0,
                    overwrite=True)
    mask = cv2.imread(str(raw.written[2]), cv2.IMREAD_GRAYSCALE)
    ys, xs = np.nonzero(mask > 10)
    # H64 is a half face: the learned mask covers about the inner face, not the whole head
    assert 30 < xs.max() - xs.min() < 140 and 30 < ys.max() - ys.min() < 140


def test_cli_merges_with_the_model_on_the_chosen_device(ws):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = dict(os.environ, FACESTUDIO_ASK="0", PYTHONPATH=str(REPO), FACESTUDIO_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "app", "--workspace", str(ws.root), "merge", "H64",
                        "--device", "cpu", "--mode", "overlay", "--overwrite", "--workers", "1"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "device: " in r.stdout and "merged 7 frames (7 faces)" in r.stdout


def test_merge_after_more_training_redoes_the_frames(ws, tmp_path, capsys):
    from app.train.api import train

    own = Workspace(tmp_path / "ws")
    shutil.copytree(ws.root, own.root)
    opts = dict(mode="overlay", mask_mode="dst")
    run_merge(own, MergeOptions(**opts), workers=0, overwrite=True)
    before = (own.merged_dir / "00003.jpg").read_bytes()
    assert run_merge(own, MergeOptions(**opts), workers=0).skipped == 8  # nothing new: kept
    train(own, "H64", general={"batch_size": 2}, max_steps=1)
    capsys.readouterr()
    stats = run_merge(own, MergeOptions(**opts), workers=0)
    assert (stats.skipped, stats.merged, stats.copied) == (0, 7, 1)
    assert "made by H64 at iteration 2; this is H64 at iteration 3" in capsys.readouterr().out
    assert (own.merged_dir / "00003.jpg").read_bytes() != before
