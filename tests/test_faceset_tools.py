"""faceset recover-names, debug add|remove and convert --to jpg|png on real aligned faces."""

from __future__ import annotations

import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.faceset.convert import convert_faceset
from app.faceset.debug_images import add_debug_images, remove_debug_images
from app.faceset.face_file import list_faces, read_face, read_meta, write_face
from app.faceset.recover_names import recover_names
from app.faceset.sort import sort_faceset
from conftest import MEDIA, REPO

FACES = MEDIA / "merge" / "dst" / "aligned"


@pytest.fixture
def faceset(tmp_path):
    folder = tmp_path / "data_src" / "aligned"
    shutil.copytree(FACES, folder)
    return folder


def test_recover_names_undoes_a_sort_and_numbers_faces_of_one_frame(faceset):
    original = sorted(p.name for p in list_faces(faceset))
    img, meta = read_face(faceset / "00003_0.jpg")
    write_face(faceset / "zz_second.jpg", 255 - img, meta)  # a second face of frame 00003
    sort_faceset(faceset, "brightness", progress=False)
    assert all(p.stem.isdigit() for p in list_faces(faceset))
    (faceset / "00001_1.jpg").write_bytes(b"not a face")  # a foreign file holding a name
    text = recover_names(faceset)
    names = sorted(p.name for p in list_faces(faceset))
    assert "1 files without face metadata" in text
    assert set(original) <= set(names) and (faceset / "00001_1.jpg").read_bytes() == b"not a face"
    assert {"00003_0.jpg", "00003_1.jpg"} <= set(names)
    for name in original:
        assert read_meta(faceset / name).source_filename == name.replace("_0.jpg", ".jpg")
    assert len(names) == len(original) + 2


def test_debug_pictures_are_added_beside_faces_ignored_and_removed(faceset):
    n = len(list_faces(faceset))
    add_debug_images(faceset)
    debug = sorted(faceset.glob("*_debug.jpg"))
    assert len(debug) == n and len(list_faces(faceset)) == n  # not taken for faces
    face, meta = read_face(faceset / "00001_0.jpg")
    pic = cv2.imread(str(faceset / "00001_0_debug.jpg"))
    x, y = np.round(meta.landmarks_array()[30]).astype(int)  # nose tip: a red landmark dot
    assert pic[y, x, 2] > 150 and pic[y, x, 2] - pic[y, x, 1] > 80
    assert np.abs(pic.astype(int) - face).mean() < 20  # otherwise the face itself
    text = remove_debug_images(faceset)
    assert f"removed {n}" in text and not list(faceset.glob("*_debug.jpg"))
    assert len(list_faces(faceset)) == n


def test_convert_keeps_metadata_and_pixels_both_ways(faceset):
    before = {p.stem: (read_face(p)[0], read_meta(p)) for p in list_faces(faceset)}
    convert_faceset(faceset, "png")
    pngs = list_faces(faceset)
    assert pngs and all(p.suffix == ".png" for p in pngs) and len(pngs) == len(before)
    for p in pngs:
        img, meta = read_face(p)
        assert np.array_equal(img, before[p.stem][0])  # PNG is lossless
        assert meta.to_dict() == before[p.stem][1].to_dict()
        assert b"altered" in p.read_bytes().lower()  # the label travels with it
    convert_faceset(faceset, "jpg")
    for p in list_faces(faceset):
        img, meta = read_face(p)
        assert p.suffix == ".jpg" and meta.to_dict() == before[p.stem][1].to_dict()
        assert np.abs(img.astype(int) - before[p.stem][0]).mean() < 2  # quality 100
    with pytest.raises(UserError):
        convert_faceset(faceset, "gif")


def test_cli_tools_on_the_workspace(faceset):
    ws = faceset.parent.parent
    env = {"FACESTUDIO_ASK": "0", "PATH": "/usr/bin:/bin"}

    def run(*argv):
        return subprocess.run([sys.executable, "-m", "app", "--workspace", str(ws), "faceset",
                               *argv], cwd=REPO, env=env, capture_output=True, text=True)

    assert run("debug", "add", "src").returncode == 0
    assert len(list(faceset.glob("*_debug.jpg"))) == len(list_faces(faceset))
    assert run("debug", "remove", "src").returncode == 0
    assert run("convert", "src", "--to", "png").returncode == 0
    assert all(p.suffix == ".png" for p in list_faces(faceset))
    assert run("recover-names", "src").returncode == 0
    bad = run("recover-names", "--dir", str(ws / "nothing"))
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr
