"""The merge run over a folder: order, copies, labels, resume, workers, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import ALTERED_MEDIA_LABEL
from app.errors import UserError
from app.merge.dst_inputs import faces_by_frame, list_frames
from app.merge.engine import merge_frames
from app.merge.options import MergeOptions
from app.merge.predictors import ColorShiftPredictor
from tests.conftest import MEDIA

DST = MEDIA / "merge" / "dst"
LABEL = ALTERED_MEDIA_LABEL.encode()


@pytest.fixture
def dst(tmp_path) -> Path:
    d = tmp_path / "data_dst"
    shutil.copytree(DST, d)
    return d


def merge(dst: Path, opts: MergeOptions, workers: int = 0, out: str = "merged",
          predictor=None, **kw):
    return merge_frames(list_frames(dst), faces_by_frame(dst / "aligned"), dst / out,
                        predictor or ColorShiftPredictor(128), opts, workers=workers,
                        batch_size=3, **kw)


def test_every_frame_written_in_order_labelled(dst):
    stats = merge(dst, MergeOptions())
    names = [p.name for p in list_frames(dst)]
    assert [p.name for p in stats.written] == names
    assert (stats.merged, stats.copied, stats.faces) == (7, 1, 7)
    for p in stats.written:
        assert LABEL in p.read_bytes()
        assert cv2.imread(str(p)).shape == (288, 360, 3)


def test_frame_without_face_is_copied_unchanged(dst):
    merge(dst, MergeOptions())
    src, out = dst / "00008.jpg", dst / "merged" / "00008.jpg"
    assert np.array_equal(cv2.imread(str(src)), cv2.imread(str(out)))
    assert LABEL in out.read_bytes() and LABEL not in src.read_bytes()
    changed = np.abs(cv2.imread(str(dst / "merged/00003.jpg")).astype(int)
                     - cv2.imread(str(dst / "00003.jpg")).astype(int)).mean()
    assert changed > 0.5


def test_png_frames_keep_png_and_get_a_text_chunk(dst):
    for p in list_frames(dst):
        cv2.imwrite(str(p.with_suffix(".png")), cv2.imread(str(p)))
        p.unlink()
    stats = merge(dst, MergeOptions(mode="overlay"))
    for p in stats.written:
        data = p.read_bytes()
        assert p.suffix == ".png" and b"tEXtComment\0" + LABEL in data


def test_alpha_export_writes_transparent_pngs(dst):
    stats = merge(dst, MergeOptions(export_alpha=True))
    assert all(p.suffix == ".png" for p in stats.written)
    img = cv2.imread(str(dst / "merged/00003.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape[2] == 4 and img[0, 0, 3] == 0 and img[150, 180, 3] == 255
    no_face = cv2.imread(str(dst / "merged/00008.png"), cv2.IMREAD_UNCHANGED)
    assert no_face[..., 3].max() == 0
    assert all(b"tEXtComment\0" + LABEL in p.read_bytes() for p in stats.written)


def test_resume_skips_done_frames_and_refuses_other_settings(dst):
    merge(dst, MergeOptions())
    (dst / "merged/00004.jpg").unlink()
    again = merge(dst, MergeOptions())
    assert (again.skipped, again.merged, again.copied) == (7, 1, 0)
    assert (dst / "merged/00004.jpg").exists()
    with pytest.raises(UserError, match="erode_mask_modifier"):
        merge(dst, MergeOptions(erode_mask_modifier=50))
    redo = merge(dst, MergeOptions(erode_mask_modifier=50), overwrite=True)
    assert redo.merged == 7 and redo.skipped == 0


def stamped(stamp: str, blur: float) -> ColorShiftPredictor:
    """The stand-in model at some training state: its stamp and its output both change."""
    p = ColorShiftPredictor(128, blur=blur)
    p.stamp = stamp
    return p


def test_a_model_trained_on_merges_every_frame_again(dst, capsys):
    first = merge(dst, MergeOptions(), predictor=stamped("SAE at iteration 10", 4.0))
    assert first.merged == 7
    before = cv2.imread(str(dst / "merged/00003.jpg")).astype(int)
    (dst / "merged/00004.jpg").unlink()  # cut short, then resumed by the same model
    resumed = merge(dst, MergeOptions(), predictor=stamped("SAE at iteration 10", 4.0))
    assert (resumed.skipped, resumed.merged) == (7, 1)
    capsys.readouterr()
    again = merge(dst, MergeOptions(), predictor=stamped("SAE at iteration 20", 0.0))
    assert (again.skipped, again.merged, again.copied) == (0, 7, 1)
    assert "made by SAE at iteration 10; this is SAE at iteration 20" in capsys.readouterr().out
    after = cv2.imread(str(dst / "merged/00003.jpg")).astype(int)
    assert np.abs(after - before).mean() > 0.5
    merge(dst, MergeOptions(), out="fresh", predictor=stamped("SAE at iteration 20", 0.0))
    for p in sorted((dst / "fresh").glob("*.jpg")):  # as if the folder had been empty
        assert p.read_bytes() == (dst / "merged" / p.name).read_bytes()
    settings = json.loads((dst / "merged/.merge_settings.json").read_text())
    assert settings["model"] == "SAE at iteration 20"
    # other settings are still refused, whatever the model
    with pytest.raises(UserError, match="erode_mask_modifier"):
        merge(dst, MergeOptions(erode_mask_modifier=50),
              predictor=stamped("SAE at iteration 30", 0.0))


def test_frames_from_before_the_model_was_recorded_are_kept(dst):
    merge(dst, MergeOptions())  # the stand-in records no model, as older merges did not
    assert "model" not in json.loads((dst / "merged/.merge_settings.json").read_text())
    again = merge(dst, MergeOptions(), predictor=stamped("SAE at iteration 20", 0.0))
    assert again.skipped == 8 and again.merged == 0


def test_no_temp_files_left(dst):
    merge(dst, MergeOptions())
    assert not [p for p in (dst / "merged").iterdir() if p.name.endswith(".tmp")
                or (p.name.startswith(".") and p.name != ".merge_settings.json")]


def test_worker_processes_give_the_same_frames(dst):
    merge(dst, MergeOptions(color_transfer="rct"), workers=0, out="serial")
    merge(dst, MergeOptions(color_transfer="rct"), workers=2, out="parallel")
    for p in sorted((dst / "serial").glob("*.jpg")):
        assert p.read_bytes() == (dst / "parallel" / p.name).read_bytes()


def test_raw_rgb_mask_writes_pngs_with_mask_alpha(dst):
    stats = merge(dst, MergeOptions(mode="raw", raw_mode="rgb-mask"))
    img = cv2.imread(str(stats.written[2]), cv2.IMREAD_UNCHANGED)
    assert stats.written[2].suffix == ".png" and img.shape[2] == 4
    assert img[0, 0, 3] == 0 and img[150, 180, 3] == 255


def test_debug_writes_each_stage(dst, tmp_path):
    merge(dst, MergeOptions(debug=True), debug_dir=tmp_path / "dbg")
    stages = sorted(p.name for p in (tmp_path / "dbg" / "00001").iterdir())
    assert stages[0].startswith("00_dst_face") and stages[-1].endswith("_result.png")
    assert len(stages) >= 6
    assert all(LABEL in p.read_bytes() for p in (tmp_path / "dbg" / "00001").iterdir())


def test_damaged_face_file_is_a_user_error_naming_it(dst):
    bad = dst / "aligned" / "00002_0.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(UserError, match="00002_0.jpg"):
        faces_by_frame(dst / "aligned")


def test_damaged_frame_is_a_user_error_and_earlier_work_is_kept(dst):
    (dst / "00005.jpg").write_bytes(b"garbage")
    with pytest.raises(UserError, match="00005.jpg"):
        merge(dst, MergeOptions())
    assert (dst / "merged" / "00001.jpg").exists()


def test_missing_frames_folder(tmp_path):
    from app.merge.runner import run_merge
    from app.workspace import Workspace

    assert list_frames(tmp_path / "nope") == []  # one frame listing: no folder, no frames
    with pytest.raises(UserError, match="video extract dst"):
        run_merge(Workspace(tmp_path), MergeOptions(), test_predictor=True)


def test_model_without_learned_mask_uses_the_dst_hull(dst):
    class NoMask(ColorShiftPredictor):
        learned_mask = False

        def predict(self, faces):
            f, m = super().predict(faces)
            return f, np.ones_like(m)  # what a model trained without a mask returns

    frames, faces = list_frames(dst), faces_by_frame(dst / "aligned")
    a = merge_frames(frames, faces, dst / "a", NoMask(128), MergeOptions(export_alpha=True),
                     workers=0)
    b = merge_frames(frames, faces, dst / "b", ColorShiftPredictor(128),
                     MergeOptions(export_alpha=True, mask_mode="dst"), workers=0)
    ia = cv2.imread(str(a.written[2]), cv2.IMREAD_UNCHANGED)
    ib = cv2.imread(str(b.written[2]), cv2.IMREAD_UNCHANGED)
    assert np.abs(ia[..., 3].astype(int) - ib[..., 3]).max() <= 1


def test_inference_threads_give_the_same_frames(dst):
    merge(dst, MergeOptions(color_transfer="rct"), out="one", inference_threads=1)
    merge(dst, MergeOptions(color_transfer="rct"), out="two", inference_threads=2)
    for p in sorted((dst / "one").glob("*.jpg")):
        assert p.read_bytes() == (dst / "two" / p.name).read_bytes()


def test_engines_other_than_torch_predict_in_the_main_thread(dst):
    import threading

    class OtherEngine(ColorShiftPredictor):
        engine = type("Eng", (), {"name": "opencl"})()
        threads: set = set()

        def predict(self, faces):
            self.threads.add(threading.current_thread().name)
            return super().predict(faces)

    pred = OtherEngine(128)
    merge_frames(list_frames(dst), faces_by_frame(dst / "aligned"), dst / "merged", pred,
                 MergeOptions(), workers=0, batch_size=3)
    assert pred.threads == {threading.main_thread().name}


def test_merge_gives_its_cores_back_to_what_runs_next(dst, monkeypatch):
    """Merge runs torch on the cores its image workers leave free, and only while it merges: a
    training started later in the same process (bench/quality.py, the API) used to find torch
    at one thread and ran 1.7x slower."""
    import os

    import torch

    from app.merge import runner
    from app.workspace import Workspace

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: nothing to share")
    seen = []

    def recording(*a, **kw):
        seen.append(torch.get_num_threads())
        return merge_frames(*a, **kw)
    monkeypatch.setattr(runner, "merge_frames", recording)
    before = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count())
    try:
        runner.run_merge(Workspace(dst.parent), MergeOptions(), test_predictor=True, workers=1)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert seen == [os.cpu_count() - 1]
    assert after == os.cpu_count()
