"""`faceset import-dfl`: DeepFaceLab 1.0/2.0 aligned faces become our face files, safely.

The DFL faces are made here the way DeepFaceLab writes them (a dict pickled with the protocol of
its Python: 2/3 for 1.0's Python 3.6 era, 4 for 2.0; numpy arrays inside; the pickle as the whole
payload of an APP15 segment after the other APPn segments, or as a PNG `fcWp` chunk before
IEND), from real faces this app extracted (tests/media/train/src).
"""

from __future__ import annotations

import base64
import hashlib
import os
import pickle
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.faceset import face_file as ff
from app.faceset.dfl_import import convert_file, import_dfl_folder
from app.faceset.plain_pickle import NotPlainPickle, load_plain
from test_fault_helpers import MEDIA, run_app

REAL = sorted((MEDIA / "train" / "src").glob("*.jpg"))[:4]


# ---------------------------------------------------------------- DFL-style faces

def plain_jpeg(face: Path) -> tuple[bytes, ff.FaceMeta]:
    """A real face as cv2 writes a JPG (JFIF, no metadata), and the metadata we extracted."""
    img, meta = ff.read_face(face)
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(), meta


def dfl2_dict(meta: ff.FaceMeta, size: int) -> dict:
    """What DeepFaceLab 2.0's extractor and XSeg editor store (numpy where it keeps numpy)."""
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, np.int32(meta.landmarks_array()[:17]), 255)
    return {"face_type": "whole_face",
            "landmarks": np.float32(meta.landmarks_array()),
            "eyebrows_expand_mod": 1.25,
            "source_filename": meta.source_filename,
            "source_rect": (3, 5, 120, 140),
            "source_landmarks": meta.source_landmarks_array().tolist(),
            "image_to_face_mat": meta.matrix(),
            "seg_ie_polys": {"polys": [
                {"type": 1, "pts": np.float32([[10, 10], [200, 12], [190, 220.5]])},
                {"type": 0, "pts": np.float32([[50, 50], [80, 50], [60, 90]])}]},
            "xseg_mask": cv2.imencode(".png", mask)[1]}


def dfl1_dict(meta: ff.FaceMeta) -> dict:
    """What DeepFaceLab 1.0 stores: lists from .tolist(), ie_polys as (type, points) pairs."""
    return {"face_type": "full_face",
            "landmarks": meta.landmarks_array().tolist(),
            "ie_polys": [(1, [[20, 20], [100, 25], [90, 120]]), (0, [[40, 40], [60, 40], [50, 70]])],
            "source_filename": meta.source_filename,
            "source_rect": [1, 2, 100, 110],
            "source_landmarks": meta.source_landmarks_array().tolist(),
            "image_to_face_mat": meta.matrix(),
            "fanseg_mask": None,
            "pitch_yaw_roll": (np.float32(0.1), -0.2, 0.05),
            "eyebrows_expand_mod": None,
            "relighted": False}


def dfl_jpeg(jpeg: bytes, pickled: bytes) -> bytes:
    """DeepFaceLab's DFLJPG.dump: the pickle as one APP15 segment after the last APPn."""
    after = 2
    for marker, _start, end, _body in ff.jpeg_segments(jpeg, "x"):
        if 0xE0 <= marker <= 0xEF:
            after = end
    segment = b"\xff\xef" + struct.pack(">H", len(pickled) + 2) + pickled
    return jpeg[:after] + segment + jpeg[after:]


def dfl_png(png: bytes, pickled: bytes) -> bytes:
    """DeepFaceLab's DFLPNG: the pickle as a `fcWp` chunk just before IEND."""
    iend = png.rindex(b"IEND") - 4
    chunk = struct.pack(">I", len(pickled)) + b"fcWp" + pickled + \
        struct.pack(">I", zlib.crc32(b"fcWp" + pickled) & 0xFFFFFFFF)
    return png[:iend] + chunk + png[iend:]


def sos(data: bytes) -> int:
    return [s for m, s, *_ in ff.jpeg_segments(data, "x") if m == 0xDA][0]


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


# ---------------------------------------------------------------- every field equal

@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_dfl2_jpg_imports_with_every_field_equal(tmp_path, protocol):
    jpeg, ours = plain_jpeg(REAL[0])
    d = dfl2_dict(ours, 256)
    src = tmp_path / "dfl" / "00001_0.jpg"
    src.parent.mkdir()
    src.write_bytes(dfl_jpeg(jpeg, pickle.dumps(d, protocol=protocol)))
    before = digest(src.parent)
    report = import_dfl_folder(src.parent, tmp_path / "out")
    assert report.failed == [] and len(report.imported) == 1
    assert digest(src.parent) == before  # nothing in the source folder changes
    out = (tmp_path / "out" / "00001_0.jpg").read_bytes()
    img, meta = ff.read_face(tmp_path / "out" / "00001_0.jpg")

    np.testing.assert_array_equal(meta.landmarks_array(), d["landmarks"])
    np.testing.assert_array_equal(meta.source_landmarks_array(), d["source_landmarks"])
    np.testing.assert_array_equal(meta.matrix(), d["image_to_face_mat"])
    assert meta.source_rect == list(d["source_rect"])
    assert meta.source_filename == d["source_filename"]
    assert meta.face_type == "whole"  # DeepFaceLab 2.0's whole face is ours
    polys = d["seg_ie_polys"]["polys"]
    assert meta.mask_polygon_modes == ["include", "exclude"]
    for got, want in zip(meta.mask_polygons, polys):
        np.testing.assert_array_equal(np.float32(got), want["pts"])
    dfl = meta.extra["dfl"]
    assert dfl["face_type"] == "whole_face" and dfl["eyebrows_expand_mod"] == 1.25
    assert base64.b64decode(dfl["xseg_mask"]["base64"]) == d["xseg_mask"].tobytes()
    mask = cv2.imdecode(np.frombuffer(base64.b64decode(dfl["xseg_mask"]["base64"]), np.uint8),
                        cv2.IMREAD_UNCHANGED)
    assert mask.shape == (256, 256) and mask.max() == 255
    from app.faceset.face_masks import decode_mask   # DFL's XSeg mask is ours to train with
    np.testing.assert_array_equal(decode_mask(meta), mask)
    assert meta.learned_mask["by"] == "DeepFaceLab XSeg"
    assert dfl["seg_ie_polys"]["polys"][1]["pts"] == polys[1]["pts"].tolist()
    # image bytes kept: the same entropy-coded data, DFL's pickle gone, pixels identical
    assert out.endswith(jpeg[sos(jpeg):])
    assert not any(m == 0xEF and out[b:b + 11] != ff.JPEG_MAGIC
                   for m, _s, _e, b in ff.jpeg_segments(out, "x"))
    np.testing.assert_array_equal(img, cv2.imdecode(np.frombuffer(jpeg, np.uint8), 1))


@pytest.mark.parametrize("protocol", [2, 3])
def test_dfl1_png_and_jpg_import_with_every_field_equal(tmp_path, protocol):
    (tmp_path / "dfl").mkdir()
    for i, face in enumerate(REAL[:2]):
        img, ours = ff.read_face(face)
        d = dfl1_dict(ours)
        png = cv2.imencode(".png", img)[1].tobytes()
        (tmp_path / "dfl" / f"{i}.png").write_bytes(dfl_png(png, pickle.dumps(d, protocol)))
        jpeg, _ = plain_jpeg(face)
        (tmp_path / "dfl" / f"{i}.jpg").write_bytes(dfl_jpeg(jpeg, pickle.dumps(d, protocol)))
    report = import_dfl_folder(tmp_path / "dfl", tmp_path / "out")
    assert report.failed == [] and len(report.imported) == 4
    for i, face in enumerate(REAL[:2]):
        d = dfl1_dict(ff.read_meta(face))
        for ext in ("png", "jpg"):
            got, meta = ff.read_face(tmp_path / "out" / f"{i}.{ext}")
            assert meta.landmarks == d["landmarks"]
            assert meta.source_landmarks == d["source_landmarks"]
            assert meta.image_to_face_mat == d["image_to_face_mat"].tolist()
            assert meta.source_rect == [float(v) for v in d["source_rect"]]
            assert meta.face_type == "full" and meta.source_filename == d["source_filename"]
            assert meta.mask_polygons == [[[float(x) for x in p] for p in pts]
                                          for _t, pts in d["ie_polys"]]
            assert meta.mask_polygon_modes == ["include", "exclude"]
            dfl = meta.extra["dfl"]
            assert dfl["ie_polys"] == [[t, pts] for t, pts in d["ie_polys"]]
            assert dfl["pitch_yaw_roll"] == [float(np.float32(0.1)), -0.2, 0.05]
            assert dfl["relighted"] is False and dfl["eyebrows_expand_mod"] is None
        png_in = (tmp_path / "dfl" / f"{i}.png").read_bytes()
        png_out = (tmp_path / "out" / f"{i}.png").read_bytes()
        idat = [png_in[s:e] for t, s, e, _ in ff.png_chunks(png_in, "x") if t == b"IDAT"]
        assert idat and all(chunk in png_out for chunk in idat)  # pixels not re-encoded
        assert b"fcWp" not in png_out


def test_imported_set_trains_and_sorts_without_extract(tmp_path):
    """Training's loader and sorting read the imported faces as they read extracted ones."""
    from app.faceset.sort import sort_faceset
    from app.train.samples import load_faceset

    (tmp_path / "dfl").mkdir()
    for face in REAL:
        jpeg, ours = plain_jpeg(face)
        (tmp_path / "dfl" / face.name).write_bytes(
            dfl_jpeg(jpeg, pickle.dumps(dfl2_dict(ours, 256), 4)))
    import_dfl_folder(tmp_path / "dfl", tmp_path / "out")
    faces = load_faceset(tmp_path / "out", 64, "full")
    assert len(faces) == len(REAL) and faces.images.shape[1:] == (64, 64, 3)
    assert faces.labelled is not None and faces.labelled.all()  # the XSeg polygons count
    assert "4" in sort_faceset(tmp_path / "out", "blur", progress=False)
    assert len(ff.list_faces(tmp_path / "out")) == len(REAL)


# ---------------------------------------------------------------- refused, safely

class RunsCode:
    """What an attacker pickles: unpickling it runs a shell command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def test_pickle_that_would_run_code_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    jpeg, ours = plain_jpeg(REAL[0])
    d = dfl2_dict(ours, 256)
    d["source_filename"] = RunsCode(marker)
    evil = tmp_path / "dfl" / "evil.jpg"
    evil.parent.mkdir()
    evil.write_bytes(dfl_jpeg(jpeg, pickle.dumps(d, 4)))
    (tmp_path / "dfl" / "good.jpg").write_bytes(
        dfl_jpeg(jpeg, pickle.dumps(dfl2_dict(ours, 256), 4)))
    proc = run_app("faceset", "import-dfl", tmp_path / "dfl", "--to", tmp_path / "out")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line]
    assert errors == [f"error: {evil}: not a plain DeepFaceLab face: refers to "
                      f"{os.system.__module__}.system"]
    assert not marker.exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.jpg"]
    # the control: pickle's own loader on the same bytes does run the command
    payload = evil.read_bytes()[2:]
    seg = [(b, e) for m, _s, e, b in ff.jpeg_segments(evil.read_bytes(), "x") if m == 0xEF][0]
    pickled = evil.read_bytes()[seg[0]:seg[1]]
    (tmp_path / "p.bin").write_bytes(pickled)
    subprocess.run([sys.executable, "-c", "import pickle,sys; "
                    "pickle.loads(open(sys.argv[1],'rb').read())", tmp_path / "p.bin"],
                   check=False, capture_output=True)
    assert marker.exists() and payload


@pytest.mark.parametrize("evil, named", [
    (lambda: {"x": eval}, "builtins.eval"),
    (lambda: {"x": __import__("collections").OrderedDict(a=1)}, "collections.OrderedDict"),
    (lambda: {"x": np.array([1, "a"], dtype=object)}, "a number type"),
    (lambda: {"x": {1, 2}}, "EMPTY_SET"),
])
def test_anything_but_plain_values_is_refused(evil, named):
    with pytest.raises(NotPlainPickle, match=named):
        load_plain(pickle.dumps(evil(), 4))


def test_plain_values_and_arrays_read_as_pickle_would(tmp_path):
    value = {"a": [1, 2.5, None, True, "é", b"\x00\xff", (1, (2,))], "b": {"c": -(2 ** 70)},
             "f32": np.float32(1.5), "i16be": np.arange(6, dtype=">i2").reshape(2, 3),
             "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "empty": b"",
             "u8": np.frombuffer(b"abc", np.uint8), "bool": np.array([True, False])}
    value["shared"] = value["a"]
    for protocol in (0, 1, 2, 3, 4, 5):
        got = load_plain(pickle.dumps(value, protocol))
        assert got.keys() == value.keys()
        for k in value:
            if isinstance(value[k], np.ndarray):
                assert got[k].dtype == value[k].dtype
                np.testing.assert_array_equal(got[k], value[k])
            else:
                assert got[k] == value[k] and type(got[k]) is type(value[k])


def test_truncated_app15_and_missing_landmarks_are_one_line_each(tmp_path):
    jpeg, ours = plain_jpeg(REAL[0])
    good = pickle.dumps(dfl2_dict(ours, 256), 4)
    folder = tmp_path / "dfl"
    folder.mkdir()
    whole = dfl_jpeg(jpeg, good)
    app15 = [s for m, s, *_ in ff.jpeg_segments(whole, "x") if m == 0xEF][0]
    (folder / "a_cut_file.jpg").write_bytes(whole[:app15 + 200])  # file ends inside APP15
    (folder / "b_cut_pickle.jpg").write_bytes(dfl_jpeg(jpeg, good[:len(good) // 2]))
    no_lm = dfl2_dict(ours, 256)
    del no_lm["landmarks"]
    (folder / "c_no_landmarks.jpg").write_bytes(dfl_jpeg(jpeg, pickle.dumps(no_lm, 4)))
    (folder / "d_plain.jpg").write_bytes(jpeg)
    (folder / "e_good.jpg").write_bytes(whole)
    (folder / "notes.txt").write_text("not a face")
    ff.write_face(folder / "f_ours.jpg", *ff.read_face(REAL[1]))
    before = digest(folder)
    proc = run_app("faceset", "import-dfl", folder, "--to", tmp_path / "out")
    assert proc.returncode == 2 and digest(folder) == before
    errors = proc.stderr.strip().splitlines()
    assert [e.split(": ")[1] for e in errors] == [str(folder / n) for n in (
        "a_cut_file.jpg", "b_cut_pickle.jpg", "c_no_landmarks.jpg", "d_plain.jpg")]
    assert "truncated" in errors[0] and "damaged or truncated" in errors[1]
    assert "without landmarks" in errors[2] and "no DeepFaceLab metadata" in errors[3]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["e_good.jpg", "f_ours.jpg"]
    assert "imported 1" in proc.stdout and "copied 1" in proc.stdout and "1 files" in proc.stdout


def test_reading_a_dfl_face_directly_says_to_import_it(tmp_path):
    jpeg, ours = plain_jpeg(REAL[0])
    path = tmp_path / "dfl.jpg"
    path.write_bytes(dfl_jpeg(jpeg, pickle.dumps(dfl2_dict(ours, 256), 4)))
    with pytest.raises(ff.FaceFileError, match="import-dfl"):
        ff.read_meta(path)


def test_import_never_writes_into_the_source_folder(tmp_path):
    with pytest.raises(ff.UserError, match="another folder"):
        import_dfl_folder(tmp_path, tmp_path)
    jpeg, ours = plain_jpeg(REAL[0])
    (tmp_path / "dfl").mkdir()
    (tmp_path / "dfl" / "x.jpg").write_bytes(dfl_jpeg(jpeg, pickle.dumps(dfl1_dict(ours), 3)))
    assert import_dfl_folder(tmp_path / "dfl").target == tmp_path / "dfl_facestudio"
    assert ff.read_meta(tmp_path / "dfl_facestudio" / "x.jpg").face_type == "full"
    data, ours_already = convert_file(tmp_path / "dfl_facestudio" / "x.jpg", tmp_path / "y.jpg")
    assert ours_already and data == (tmp_path / "dfl_facestudio" / "x.jpg").read_bytes()
