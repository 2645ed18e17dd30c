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


def _mirrored(img, meta):
    """The face flipped left-right, landmarks mirrored with their 68-point order kept (so a head
    turned to one side becomes one turned to the other)."""
    import numpy as np

    from app.faceset.landmarks import estimate_pitch_yaw

    w = img.shape[1]
    flip = list(range(16, -1, -1)) + list(range(26, 16, -1)) + list(range(27, 31)) + \
        list(range(35, 30, -1)) + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40] + \
        list(range(54, 47, -1)) + list(range(59, 54, -1)) + list(range(64, 59, -1)) + \
        list(range(67, 64, -1))
    lm = meta.landmarks_array().copy()
    lm[:, 0] = w - 1 - lm[:, 0]
    meta.landmarks = lm[flip].tolist()
    meta.pitch, meta.yaw = estimate_pitch_yaw(lm[flip])
    return img[:, ::-1].copy(), meta


def _nose_side(meta) -> float:
    """Where the nose tip sits left or right of the eyes' midpoint, in eye distances (> 0: the
    picture's right). The test's own measure from the landmarks, not the pose fit that sorts."""
    lm = meta.landmarks_array()
    eyes = lm[36:42].mean(0), lm[42:48].mean(0)
    axis = eyes[1] - eyes[0]
    return float((lm[30] - (eyes[0] + eyes[1]) / 2) @ axis / (axis @ axis))


def test_yaw_goes_from_turned_left_to_turned_right(tmp_path, faceset):
    folder = _copy(faceset, tmp_path)
    faces = list_faces(folder)
    turned = max(faces, key=lambda p: abs(_nose_side(read_meta(p))))
    img, meta = read_face(turned)
    original = meta.source_filename
    meta.source_filename = "mirror_" + original
    write_face(folder / "zz_mirror.jpg", *_mirrored(img, meta))
    sort_faceset(folder, "face-yaw", progress=False)
    metas = [read_meta(p) for p in list_faces(folder)]
    sides = [_nose_side(m) for m in metas]
    assert sides[0] < 0 < sides[-1]  # nose towards the picture's left first, right last
    assert _mostly_sorted(sides), sides
    # the most turned face and its mirror image are the two ends
    assert {metas[0].source_filename, metas[-1].source_filename} == {original, "mirror_" + original}


def _mostly_sorted(values, slack=0.05) -> bool:
    """Non-decreasing up to `slack` (the stored yaw and the test's measure differ slightly)."""
    return all(b >= a - slack for a, b in zip(values, values[1:]))


def _nodded(lm, degrees: float):
    """68 points of the 3-D mean face nodded by `degrees` (> 0: looking down), projected
    orthographically at the place and size of the face `lm`."""
    import numpy as np

    from app.faceset.head_pose import mean_face_3d

    t = np.radians(degrees)
    rot = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    pts = (mean_face_3d() @ rot.T)[:, :2]
    pts = pts - pts[36:48].mean(0)
    eyes = np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))
    return pts * eyes + lm[36:48].mean(0)


def _nose_height(lm) -> float:
    """The nose tip's height between the eyes and the mouth corners, 0 at the eyes (the test's
    own measure: it grows as the head nods down)."""
    eyes, mouth = lm[36:48].mean(0), (lm[48] + lm[54]) / 2
    return float((lm[30][1] - eyes[1]) / (mouth[1] - eyes[1]))


def test_pitch_goes_from_looking_up_to_looking_down(tmp_path, faceset):
    folder = _copy(faceset, tmp_path)
    img, meta = read_face(list_faces(folder)[0])
    lm = meta.landmarks_array()
    for k, degrees in enumerate([20, -20, 0, 10, -10]):  # nodded copies of one face, shuffled
        meta.landmarks = _nodded(lm, degrees).tolist()
        meta.source_filename = f"nod_{degrees:+03d}"
        write_face(folder / f"zz_nod_{k}.jpg", img, meta)
    sort_faceset(folder, "face-pitch", progress=False)
    metas = [read_meta(p) for p in list_faces(folder)]
    nods = [m for m in metas if m.source_filename.startswith("nod_")]
    assert [m.source_filename for m in nods] == ["nod_-20", "nod_-10", "nod_+00", "nod_+10",
                                                 "nod_+20"]
    heights = [_nose_height(m.landmarks_array()) for m in nods]
    assert heights == sorted(heights), heights
    # the real faces too: the first looks further up than the last
    assert _nose_height(metas[0].landmarks_array()) < _nose_height(metas[-1].landmarks_array())


def test_hist_puts_similar_faces_together(tmp_path, faceset):
    import numpy as np

    folder = _copy(faceset, tmp_path)
    for k, path in enumerate(list_faces(folder)[:6:2]):  # 3 different faces with a blue cast
        img, meta = read_face(path)
        img[..., 0] = 255
        img[..., 1] //= 3
        meta.source_filename = f"blue_{k}_" + meta.source_filename
        write_face(folder / f"zz_blue_{k}.jpg", img, meta)

    def hists(paths):
        out = []
        for p in paths:
            img = read_face(p)[0]
            h = np.concatenate([cv2.calcHist([img], [c], None, [32], [0, 256]).ravel()
                                for c in range(3)])
            out.append(h / h.sum())
        return out

    def chain_cost(paths):  # sum of L1 histogram distances between neighbours
        h = hists(paths)
        return sum(np.abs(a - b).sum() for a, b in zip(h, h[1:]))

    rng = np.random.default_rng(0)
    paths = list_faces(folder)
    shuffled = [chain_cost([paths[i] for i in rng.permutation(len(paths))]) for _ in range(20)]
    sort_faceset(folder, "hist", progress=False)
    after_paths = list_faces(folder)
    names = [read_meta(p).source_filename for p in after_paths]
    blue = [i for i, n in enumerate(names) if n.startswith("blue_")]
    assert blue == list(range(blue[0], blue[0] + 3)), names  # the blue ones side by side
    assert chain_cost(after_paths) < min(shuffled)  # neighbours more alike than any shuffle


def test_hist_dissim_puts_the_outlier_first_and_source_sorts_by_frame(tmp_path, faceset):
    folder = _copy(faceset, tmp_path)
    sort_faceset(folder, "hist-dissim", progress=False)
    assert read_meta(list_faces(folder)[0]).source_filename.startswith("odd_")
    sort_faceset(folder, "source", progress=False)
    sources = [read_meta(p).source_filename for p in list_faces(folder)]
    assert sources == sorted(sources)


def test_black_puts_faces_with_fewer_black_pixels_first(tmp_path, faceset):
    import numpy as np

    folder = _copy(faceset, tmp_path)
    img, meta = read_face(list_faces(folder)[0])
    for rows in (40, 120, 80):  # cut-off faces: black bands of three heights
        cut = img.copy()
        cut[:rows] = 0
        meta.source_filename = f"black_{rows:03d}"
        write_face(folder / f"zz_black_{rows}.jpg", cut, meta)
    sort_faceset(folder, "black", progress=False)
    names = [read_meta(p).source_filename for p in list_faces(folder)]
    assert names[-3:] == ["black_040", "black_080", "black_120"]
    blacks = [int((read_face(p)[0].max(axis=2) <= 2).sum()) for p in list_faces(folder)]
    assert blacks == sorted(blacks)


def test_one_face_trashes_every_face_of_a_frame_with_several(tmp_path, faceset):
    folder = _copy(faceset, tmp_path)
    first = list_faces(folder)[0]
    img, meta = read_face(first)
    write_face(folder / "zz_second_person.jpg", 255 - img, meta)  # same frame, a second face
    from collections import Counter

    frames = Counter(read_meta(p).source_filename for p in list_faces(folder))
    several = {name for name, k in frames.items() if k > 1}
    assert meta.source_filename in several
    text = sort_faceset(folder, "one-face", progress=False)
    trash = Counter(read_meta(p).source_filename for p in list_faces(folder.parent / "aligned_trash"))
    assert trash == {name: frames[name] for name in several}
    assert f"{sum(trash.values())} moved" in text
    kept = [read_meta(p).source_filename for p in list_faces(folder)]
    assert sorted(kept) == sorted(name for name, k in frames.items() if k == 1) and kept


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
