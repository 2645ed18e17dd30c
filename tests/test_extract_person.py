"""The right person: `extract --person` keeps one identity's face in every frame, never another's.

Frames of a two-person clip (a woman left, a man right; both tilt their heads). The references
are crops of the clip's first frame, which is not among the frames extracted. Every aligned face
written is checked with the face recognition net against both references.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli.main import main
from app.extract.detectors import Landmarker, make_detector
from app.extract.person import person_from_image
from app.faceset.face_file import list_faces, read_face
from app.identity import embed_landmarks

MEDIA = Path(__file__).parent / "media" / "person"
FRAMES = sorted(MEDIA.glob("frame_*.jpg"))


@pytest.fixture(scope="module")
def people():
    det, lm = make_detector("fast"), Landmarker()
    return {who: person_from_image(MEDIA / f"ref_{who}.jpg", det, lm) for who in ("woman", "man")}


def _frames(tmp_path: Path) -> Path:
    folder = tmp_path / "data_dst"
    folder.mkdir()
    for f in FRAMES:
        shutil.copy(f, folder / f.name)
    return folder


def _identities(aligned: Path, people) -> list[str]:
    """Who each aligned face is nearest to (from its own pixels and landmarks)."""
    out = []
    for path in list_faces(aligned):
        img, meta = read_face(path)
        emb = embed_landmarks(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), meta.landmarks_array())
        out.append(min(people, key=lambda who: people[who].distance(emb)))
    return out


def test_the_two_references_are_different_people(people):
    d = people["woman"].distance(np.asarray(people["man"].embedding))
    assert d > people["woman"].threshold


@pytest.mark.parametrize("who", ["man", "woman"])
def test_dst_keeps_only_the_chosen_person(tmp_path, capsys, people, who):
    frames = _frames(tmp_path)
    rc = main(["extract", "dst", "--frames", str(frames), "--detector", "fast", "--workers", "1",
               "--person", str(MEDIA / f"ref_{who}.jpg")])
    assert rc == 0
    out = capsys.readouterr().out
    found = _identities(frames / "aligned", people)
    assert found and set(found) == {who}
    missing = len(FRAMES) - len(found)
    assert f"{missing} frames without a face" in out
    if who == "man":  # he faces the camera: found in most frames
        assert len(found) >= len(FRAMES) // 2
    else:  # her head is tilted far in most frames: those are listed, never the man instead
        assert missing > 0 and "show only other people" in out


def test_src_with_person_keeps_one_face_per_frame(tmp_path, people):
    frames = _frames(tmp_path)
    rc = main(["extract", "src", "--frames", str(frames), "--detector", "fast", "--workers", "1",
               "--face-type", "full", "--size", "128", "--person", str(MEDIA / "ref_man.jpg")])
    assert rc == 0
    found = _identities(frames / "aligned", people)
    assert set(found) == {"man"} and len(FRAMES) // 2 <= len(found) <= len(FRAMES)
    assert all(p.name.endswith("_0.jpg") for p in list_faces(frames / "aligned"))  # one a frame


def test_person_first_takes_the_largest_face_of_the_first_frame(tmp_path, capsys, people):
    frames = _frames(tmp_path)
    first = cv2.imread(str(FRAMES[0]))
    shutil.copy(FRAMES[0], frames / "00000_first.jpg")
    boxes = make_detector("fast").detect(first)
    largest = max(boxes, key=lambda b: b.area)
    who = "woman" if largest.left < first.shape[1] / 2 else "man"
    rc = main(["extract", "dst", "--frames", str(frames), "--detector", "fast", "--workers", "1",
               "--person", "first"])
    assert rc == 0
    assert "00000_first.jpg" in capsys.readouterr().out
    assert set(_identities(frames / "aligned", people)) == {who}


def test_reference_without_a_face_is_one_error_before_any_frame(tmp_path, capsys):
    frames = _frames(tmp_path)
    blank = tmp_path / "wall.jpg"
    cv2.imwrite(str(blank), cv2.imread(str(FRAMES[0]))[200:270, 200:300])  # shirt, no face
    rc = main(["extract", "dst", "--frames", str(frames), "--detector", "fast",
               "--person", str(blank)])
    err = capsys.readouterr().err
    assert rc == 2 and "no face found in the person reference image" in err
    assert str(blank) in err
    assert not (frames / "aligned").exists() or not list_faces(frames / "aligned")


def test_sort_by_identity_groups_the_other_person_and_trashes_them(tmp_path, people):
    """A src set of both people (6 man, 2 woman faces): the man's come first, the woman's last."""
    frames = _frames(tmp_path)
    extract = ["extract", "src", "--frames", str(frames), "--detector", "fast", "--workers", "1",
               "--face-type", "full", "--size", "128"]
    assert main(extract) == 0
    aligned = frames / "aligned"
    before = _identities(aligned, people)
    assert before.count("man") > before.count("woman") > 0
    assert main(["faceset", "sort", "--dir", str(aligned), "--by", "identity"]) == 0
    after = _identities(aligned, people)
    assert after == ["man"] * before.count("man") + ["woman"] * before.count("woman")
    assert main(["faceset", "sort", "--dir", str(aligned), "--by", "identity",
                 "--trash-others"]) == 0
    assert _identities(aligned, people) == ["man"] * before.count("man")
    assert _identities(aligned.parent / "aligned_trash", people) == ["woman"] * before.count("woman")
