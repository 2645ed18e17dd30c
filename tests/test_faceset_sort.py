"""faceset sort on real aligned faces: orders, renames, keeps metadata, final selection."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from app.extract.pipeline import ExtractOptions, extract_folder
from app.faceset.face_file import list_faces, read_face, read_meta, write_face
from app.faceset.sort import sort_faceset

REPO = Path(__file__).resolve().parent.parent
PHOTOS = Path(__file__).parent / "media" / "extract"


@pytest.fixture(scope="module")
def faceset(tmp_path_factory) -> Path:
    """Aligned faces of the test photos (several people, poses) plus blurred/inverted copies."""
    root = tmp_path_factory.mktemp("sortset")
    frames = root / "photos"
    shutil.copytree(PHOTOS, frames)
    extract_folder(frames, root / "aligned", None, ExtractOptions(side="src", workers=1),
                   progress=False)
    faces = list_faces(root / "aligned")
    for path in faces[:3]:
        img, meta = read_face(path)
        meta.source_filename = "blurred_" + meta.source_filename
        write_face(root / "aligned" / ("zz_blur_" + path.name), cv2.GaussianBlur(img, (0, 0), 4),
                   meta)
    img, meta = read_face(faces[3])
    meta.source_filename = "odd_" + meta.source_filename
    write_face(root / "aligned" / "zz_odd.jpg", 255 - img, meta)
    return root / "aligned"


def _copy(faceset: Path, tmp_path: Path) -> Path:
    out = tmp_path / "data_src" / "aligned"
    shutil.copytree(faceset, out)
    return out


def test_blur_puts_blurred_copies_last_and_renames(tmp_path, faceset):
    folder = _copy(faceset, tmp_path)
    n = len(list_faces(folder))
    (folder / "00001.jpg").write_bytes(b"not a face")  # a foreign file with a target name
    text = sort_faceset(folder, "blur", progress=False)
    assert "1 unreadable" in text
    names = [p.name for p in list_faces(folder)]
    assert "00001.jpg" in names and (folder / "00001.jpg").read_bytes() == b"not a face"
    faces = [p for p in list_faces(folder) if p.name != "00001.jpg"]
    assert len(faces) == n
    order = [read_meta(p).source_filename for p in faces]
    assert all(s.startswith("blurred_") for s in order[-3:]), order
    assert not any(s.startswith("blurred_") for s in order[:-3])


def test_yaw_order_and_hist_dissim_outlier_first(tmp_path, faceset):
    folder = _copy(faceset, tmp_path)
    sort_faceset(folder, "face-yaw", progress=False)
    yaws = [read_meta(p).yaw for p in list_faces(folder)]
    assert yaws == sorted(yaws)
    sort_faceset(folder, "hist-dissim", progress=False)
    assert read_meta(list_faces(folder)[0]).source_filename.startswith("odd_")
    sort_faceset(folder, "hist", progress=False)
    sort_faceset(folder, "source", progress=False)
    sources = [read_meta(p).source_filename for p in list_faces(folder)]
    assert sources == sorted(sources)


def test_final_keeps_count_and_trashes_the_rest(tmp_path, faceset):
    folder = _copy(faceset, tmp_path)
    n = len(list_faces(folder))
    text = sort_faceset(folder, "final", final_count=5, progress=False)
    kept = list_faces(folder)
    trash = list_faces(folder.parent / "aligned_trash")
    assert len(kept) == 5 and len(trash) == n - 5 and "moved" in text
    assert all(read_meta(p).face_type == "full" for p in kept + trash)
    # the blurred copies are the least sharp of their yaw bins: not picked
    assert not any(read_meta(p).source_filename.startswith("blurred_") for p in kept)


def test_cli_sort_and_errors(tmp_path, faceset):
    folder = _copy(faceset, tmp_path)
    env = {"FACESTUDIO_ASK": "0", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "app", "--workspace", str(tmp_path), "faceset",
                          "sort", "src", "--by", "black"], cwd=REPO, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert [p.name for p in list_faces(folder)][:2] == ["00000.jpg", "00001.jpg"]
    run = subprocess.run([sys.executable, "-m", "app", "faceset", "sort", "--dir",
                          str(tmp_path / "nothing"), "--by", "blur"], cwd=REPO, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 2 and "error:" in run.stderr and "Traceback" not in run.stderr


def test_extract_after_sort_does_not_duplicate_faces(tmp_path):
    frames = tmp_path / "photos"
    shutil.copytree(PHOTOS, frames)
    opts = ExtractOptions(side="src", workers=1)
    first = extract_folder(frames, frames / "aligned", None, opts, progress=False)
    sort_faceset(frames / "aligned", "blur", progress=False)
    assert not any("_" in p.name for p in list_faces(frames / "aligned"))
    again = extract_folder(frames, frames / "aligned", None, opts, progress=False)
    assert again.processed == 0 and again.already_done == first.frames
    assert len(list_faces(frames / "aligned")) == first.faces
