"""Registries found from files: adding a model file, a detector file or a merge mode / colour
transfer function (and nothing else) makes the CLI offer it (choices, numbered questions,
--help, launchers)."""

from __future__ import annotations

import argparse
import io
import textwrap

import numpy as np
import pytest

import app.extract
import app.models
from app.cli import cmd_extract, cmd_merge, cmd_train
from app.cli.main import build_parser
from app.color_transfer import TRANSFERS, transfer_names
from app.merge.modes import MERGE_MODES
from app.registry import Registered
from launchers import generate

MODEL_FILE = '''
"""A test-only model: H64's network at 16 px with tiny dims."""
from app.models.h64 import H64

MODEL = {"name": "TinyTest", "order": 99, "help": "test-only 16 px model"}


class TinyTest(H64):
    name = "TinyTest"
    res = 16
    sizes = {False: (32, [32, 16, 8]), True: (16, [16, 8, 8])}
'''

DETECTOR_FILE = '''
"""A test-only detector: the whole frame is one face."""
from app.extract.detectors import Box

DETECTOR = {"name": "wholeframe", "order": 99, "help": "the whole frame is the face",
            "class": "WholeFrame"}


class WholeFrame:
    name = "wholeframe"

    def detect(self, img, hint=None):
        h, w = img.shape[:2]
        return [Box(0, 0, w, h)]
'''


@pytest.fixture
def plugin_dirs(tmp_path, monkeypatch):
    """A temporary folder added to app.models' and app.extract's package path, with one new
    model file and one new detector file in it: nothing else is edited."""
    (tmp_path / "models").mkdir()
    (tmp_path / "extract").mkdir()
    (tmp_path / "models" / "tiny_test_model.py").write_text(textwrap.dedent(MODEL_FILE))
    (tmp_path / "extract" / "detector_wholeframe.py").write_text(textwrap.dedent(DETECTOR_FILE))
    monkeypatch.setattr(app.models, "__path__", [*app.models.__path__, str(tmp_path / "models")])
    monkeypatch.setattr(app.extract, "__path__",
                        [*app.extract.__path__, str(tmp_path / "extract")])
    yield tmp_path


def answers(monkeypatch, *texts):
    """Answer the questions in turn on stdin (FACESTUDIO_ASK=1: asked without a terminal)."""
    monkeypatch.setenv("FACESTUDIO_ASK", "1")
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(t + "\n" for t in texts)))


def test_the_builtin_names_come_from_the_files():
    assert app.models.model_names() == ("H64", "H128", "DF", "LIAEF128", "SAE", "SAEHD",
                                          "Quick96", "AMP")
    assert app.extract.detector_names() == ("fast", "accurate", "mt", "yunet")
    assert MERGE_MODES.names() == ("overlay", "hist-match", "hist-match-bw", "seamless", "raw")
    assert transfer_names() == ("none", "rct", "lct", "mkl", "idt", "sot")


def test_a_new_model_file_is_offered_by_train_merge_demo_and_the_launchers(plugin_dirs,
                                                                          monkeypatch, capsys):
    assert app.models.model_names()[-1] == "TinyTest"
    cls = app.models.model_class("tinytest")
    assert cls.__name__ == "TinyTest" and cls({}).resolution == 16
    parser = build_parser()
    assert parser.parse_args(["demo", "--model", "TinyTest"]).model == "TinyTest"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    assert "TinyTest" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        build_parser().parse_args(["merge", "--help"])
    assert "TinyTest" in capsys.readouterr().out
    # the interactive question numbers it after AMP
    answers(monkeypatch, "?", "9")
    assert cmd_train.ask_model(None) == "TinyTest"
    out = capsys.readouterr().out
    assert out.startswith("Choose a model") and "TinyTest: test-only 16 px model" in out
    steps = [s["args"] for s in generate.load_steps()]
    assert "train TinyTest" in steps and "merge TinyTest" in steps


def test_a_new_detector_file_is_offered_by_extract_and_the_launchers(plugin_dirs, monkeypatch,
                                                                    capsys):
    assert app.extract.detector_names() == ("fast", "accurate", "mt", "yunet", "wholeframe")
    from app.extract.detectors import make_detector
    boxes = make_detector("wholeframe").detect(np.zeros((40, 30, 3), np.uint8))
    assert [b.as_list() for b in boxes] == [[0, 0, 30, 40]]
    args = build_parser().parse_args(["extract", "src", "--detector", "wholeframe"])
    assert args.detector == "wholeframe"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["extract", "--help"])
    assert "the whole frame is the face" in " ".join(capsys.readouterr().out.split())
    answers(monkeypatch, "5")
    assert cmd_extract.ask_detector(None) == "wholeframe"
    answers(monkeypatch, "6")
    assert cmd_extract.ask_detector(None) == "manual"
    names = [s["name"] for s in generate.load_steps()]
    assert "4) data_src extract faces wholeframe" in names
    assert "5) data_dst extract faces wholeframe" in names


def _merge_args(**kw) -> argparse.Namespace:
    return build_parser().parse_args(["merge", *kw.pop("argv", [])])


def test_a_new_merge_mode_function_is_offered_and_merges(monkeypatch, capsys):
    def negative(face, dst_face, mask, opts):
        return 1.0 - face

    monkeypatch.setitem(MERGE_MODES, "negative",
                        Registered("negative", negative, "negative", "the face inverted", {}))
    args = _merge_args(argv=["--mode", "negative"])
    assert args.mode == "negative"
    answers(monkeypatch, "", "?", "6")
    opts = cmd_merge.ask_options(_merge_args())
    assert opts.mode == "negative"
    out = capsys.readouterr().out
    assert "(5) raw, (6) negative." in out and "negative: the face inverted" in out
    # it runs: the pasted face is the inverse of the overlay's
    from app.merge.compose import merge_frame
    from tests.test_merge import sample as sample_fixture
    frame, faces = sample_fixture.__wrapped__()
    from app.merge.options import MergeOptions
    over = merge_frame(frame, faces, MergeOptions(mode="overlay").validate(), "full").image
    neg = merge_frame(frame, faces, MergeOptions(mode="negative").validate(), "full").image
    inside = np.abs(over - frame / 255.0).sum(-1) > 0.1
    assert inside.sum() > 1000
    assert np.abs(neg[inside] - (1.0 - over[inside])).mean() < 0.1


def test_a_new_colour_transfer_function_is_offered(monkeypatch, capsys):
    def swap_rb(face, target, face_mask=None, target_mask=None):
        return face[..., ::-1]

    monkeypatch.setitem(TRANSFERS, "swap", Registered("swap", swap_rb, "swap", "red and blue", {}))
    assert transfer_names()[-1] == "swap"
    assert _merge_args(argv=["--color-transfer", "swap"]).color_transfer == "swap"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["merge", "--help"])
    assert "sot, swap" in capsys.readouterr().out
    # debug, mode (seamless), jitter, seamless hist match, mask mode, erode, blur, face scale
    answers(monkeypatch, "", "", "", "", "", "", "", "", "7")
    assert cmd_merge.ask_options(_merge_args()).color_transfer == "swap"
    assert "(6) sot, (7) swap" in capsys.readouterr().out
