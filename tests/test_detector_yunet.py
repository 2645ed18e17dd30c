"""YuNet (yuface wheel) on real photos and frames, mapped to the 68-point fit; missing package."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.extract.accuracy import eye_error, tem_pupils
from app.extract.detectors import Landmarker, make_detector, to_gray

MEDIA = Path(__file__).parent / "media"
PHOTOS = sorted((MEDIA / "extract").glob("*.jpg"))

yuface = pytest.importorskip("yuface", reason="yuface has wheels for x86_64 Linux/Windows only")


@pytest.fixture(scope="module")
def yunet():
    return make_detector("yunet")


def test_every_photo_gives_its_face_with_accurate_eyes(yunet):
    """The box holds the hand-placed pupils, and the 68-point fit in it puts the eyes there."""
    lm = Landmarker()
    errors = []
    for photo in PHOTOS:
        img = cv2.imread(str(photo))
        boxes = yunet.detect(img)
        assert boxes, photo.name
        box = max(boxes, key=lambda b: b.area)
        tem = photo.with_suffix(".tem")
        if tem.exists():
            pupils = tem_pupils(tem)
            assert all(box.left < x < box.right and box.top < y < box.bottom for x, y in pupils)
            errors.append(eye_error(lm.fit(img, box), pupils))
    assert len(errors) == 6
    assert np.median(errors) < 0.05 and max(errors) < 0.08, errors


def test_the_people_of_a_group_frame(yunet):
    """The first frame shows five faces (one behind a camera); the HOG finds the two nearest."""
    cap = cv2.VideoCapture(str(MEDIA / "group3.mp4"))
    ok, frame = cap.read()
    cap.release()
    assert ok
    boxes = yunet.detect(frame)
    hog = make_detector("fast").detect(frame)
    assert len(boxes) >= 4 and len(hog) >= 2
    for h in hog:  # every face the HOG finds is one of YuNet's, in the same place
        centre = ((h.left + h.right) / 2, (h.top + h.bottom) / 2)
        assert any(b.left < centre[0] < b.right and b.top < centre[1] < b.bottom for b in boxes)


def test_large_frame_is_searched_scaled_down(yunet):
    img = cv2.imread(str(PHOTOS[0]))
    big = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    small_box = max(yunet.detect(img), key=lambda b: b.area)
    big_box = max(yunet.detect(big), key=lambda b: b.area)
    assert abs(big_box.left / 3 - small_box.left) < 0.1 * (small_box.right - small_box.left)


def test_cli_extract_with_yunet(tmp_path, capsys):
    from app.cli.main import main
    from app.faceset.face_file import list_faces
    frames = tmp_path / "frames"
    frames.mkdir()
    for f in sorted((MEDIA / "person").glob("frame_*.jpg"))[:2]:
        shutil.copy(f, frames / f.name)
    assert main(["extract", "src", "--frames", str(frames), "--detector", "yunet",
                 "--workers", "1", "--face-type", "full", "--size", "128"]) == 0
    assert len(list_faces(frames / "aligned")) == 4  # two people in each frame


def test_missing_package_names_the_builds_and_the_other_detectors(monkeypatch):
    monkeypatch.setitem(sys.modules, "yuface", None)  # import fails as where no wheel exists
    with pytest.raises(UserError) as exc:
        make_detector("yunet")
    text = str(exc.value)
    assert "yuface" in text and "Linux" in text and "--detector mt" in text


def test_tilted_faces_get_their_roll_undone_by_the_fit(yunet):
    """Photos turned 40 degrees in the image plane: YuNet's eye line gives the roll, the fit
    on an upright copy keeps the eyes on the (turned) hand-placed pupils; without it (one pass
    at roll 0) they slide; a box without a roll gets it from the fit's own eye line (second pass)
    where the first pass is near enough to give it.
    """
    import dataclasses
    lm = Landmarker()
    with_roll, one_pass, two_pass = [], [], []
    for photo in PHOTOS:
        tem = photo.with_suffix(".tem")
        if not tem.exists():
            continue
        img = cv2.imread(str(photo))
        h, w = img.shape[:2]
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), 40, 1.0)
        turned = cv2.warpAffine(img, rot, (w, h), borderMode=cv2.BORDER_REPLICATE)
        pupils = tem_pupils(tem) @ rot[:, :2].T + rot[:, 2]
        box = max(yunet.detect(turned), key=lambda b: b.area)
        assert box.roll < -10  # the turn is seen (image y points down: counter-clockwise < 0)
        with_roll.append(eye_error(lm.fit(turned, box), pupils))
        upright = dataclasses.replace(box, roll=0.0)
        one_pass.append(eye_error(lm._upright_fit(to_gray(turned), upright), pupils))
        two_pass.append(eye_error(lm.fit(turned, upright), pupils))
    assert np.median(with_roll) < 0.05 and max(with_roll) < 0.08, with_roll
    assert np.median(one_pass) > 1.5 * np.median(with_roll), (one_pass, with_roll)
    # lisa3 is itself tilted ~20 degrees: at 60 degrees the first pass is too far off to help
    assert np.median(two_pass) < 0.05 and sum(e < 0.08 for e in two_pass) >= 5, two_pass
    assert np.median(two_pass) < np.median(one_pass) / 1.5, (two_pass, one_pass)


def test_missing_package_keeps_what_was_extracted(tmp_path, monkeypatch, capsys):
    """A run with yunet where its wheel is missing stops with the one line, before any frame,
    and the faces of an earlier run stay as they were."""
    from app.cli.main import main
    frames = tmp_path / "frames"
    frames.mkdir()
    for f in sorted((MEDIA / "person").glob("frame_*.jpg"))[:2]:
        shutil.copy(f, frames / f.name)
    args = ["extract", "src", "--frames", str(frames), "--workers", "1", "--face-type", "full",
            "--size", "128"]
    assert main(args + ["--detector", "fast"]) == 0
    before = {p.name: p.read_bytes() for p in (frames / "aligned").iterdir()}
    assert before
    (frames / "frame_00013.jpg").rename(frames / "frame_00099.jpg")  # one pending frame
    monkeypatch.setitem(sys.modules, "yuface", None)
    assert main(args + ["--detector", "yunet"]) != 0
    out = capsys.readouterr()
    assert "--detector mt" in out.out + out.err and "Traceback" not in out.out + out.err
    after = {p.name: p.read_bytes() for p in (frames / "aligned").iterdir()}
    assert after == before
