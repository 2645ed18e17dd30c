"""Aligned-face file format: round trips, the altered-media label, and damaged/foreign files."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import ALTERED_MEDIA_LABEL
from app.errors import UserError
from app.extract.align import face_matrix, transform_points
from app.faceset import face_file as ff


def _meta(n_poly_points: int = 0) -> ff.FaceMeta:
    rng = np.random.default_rng(0)
    src = rng.uniform(100, 300, (68, 2))
    mat = face_matrix(src, 256, "full")
    poly = rng.uniform(0, 256, (n_poly_points, 2)).tolist()
    return ff.FaceMeta(
        face_type="full", landmarks=transform_points(src, mat), source_filename="00001.png",
        source_rect=[90, 95, 310, 305], source_landmarks=src, image_to_face_mat=mat,
        mask_polygons=[poly] if n_poly_points else [], source_size=[640, 480],
        pitch=0.1, yaw=-0.2)


def _image() -> np.ndarray:
    img = np.zeros((256, 256, 3), np.uint8)
    cv2.circle(img, (128, 128), 80, (40, 120, 220), -1)
    return img


@pytest.mark.parametrize("ext", [".jpg", ".png", ".JPEG"])
def test_round_trip_keeps_metadata_and_pixels(tmp_path, ext):
    path = tmp_path / f"face{ext}"
    meta = _meta()
    ff.write_face(path, _image(), meta)
    img, back = ff.read_face(path)
    assert img.shape == (256, 256, 3)
    assert np.abs(img.astype(int) - _image().astype(int)).mean() < 3
    assert back.face_type == "full" and back.source_filename == "00001.png"
    np.testing.assert_allclose(back.landmarks_array(), meta.landmarks, atol=1e-9)
    np.testing.assert_allclose(back.source_landmarks_array(), meta.source_landmarks, atol=1e-9)
    np.testing.assert_allclose(back.matrix(), meta.image_to_face_mat, atol=1e-12)
    assert back.source_size == [640, 480] and back.yaw == pytest.approx(-0.2)
    assert ff.read_meta(path) == back
    # a plain decoder still reads the image (the file is an ordinary JPG/PNG)
    assert cv2.imread(str(path)) is not None


def _stored_version(path) -> int:
    data = path.read_bytes()
    doc = next(data[b + len(ff.JPEG_MAGIC) + 2:e] for m, _s, e, b in ff.jpeg_segments(data, path)
               if m == 0xEF and data[b:b + len(ff.JPEG_MAGIC)] == ff.JPEG_MAGIC)
    return json.loads(doc)["version"]


def test_pupils_are_a_version_2_key_written_only_when_present(tmp_path):
    """Pupils in frame pixels round-trip and map into the aligned face through the matrix;
    a face without them stays a version-1 file that older readers take."""
    meta = _meta()
    src = meta.source_landmarks_array()
    pupils = np.stack([src[36:42].mean(0), src[42:48].mean(0)]) + [0.5, -1.5]
    meta.source_pupils = pupils.tolist()
    ff.write_face(tmp_path / "with.jpg", _image(), meta)
    ff.write_face(tmp_path / "without.jpg", _image(), _meta())
    back = ff.read_meta(tmp_path / "with.jpg")
    assert _stored_version(tmp_path / "with.jpg") == 2
    assert _stored_version(tmp_path / "without.jpg") == 1
    assert ff.read_meta(tmp_path / "without.jpg").pupils_array() is None
    np.testing.assert_allclose(back.source_pupils, pupils, atol=1e-9)
    aligned = back.landmarks_array()
    want = np.stack([aligned[36:42].mean(0), aligned[42:48].mean(0)])
    moved = transform_points(pupils, back.matrix()) - want   # the same offset, scaled/rotated
    np.testing.assert_allclose(back.pupils_array() - want, moved, atol=1e-9)
    assert np.abs(back.pupils_array() - want).max() < 5


def test_label_and_magic_present(tmp_path):
    for ext in (".jpg", ".png"):
        path = tmp_path / f"f{ext}"
        ff.write_face(path, _image(), _meta())
        data = path.read_bytes()
        assert ALTERED_MEDIA_LABEL.encode() in data
    assert ff.JPEG_MAGIC in (tmp_path / "f.jpg").read_bytes()


def test_large_metadata_split_over_segments(tmp_path):
    meta = _meta(n_poly_points=6000)  # ~ 250 KB of JSON: several APP15 segments
    path = tmp_path / "big.jpg"
    ff.write_face(path, _image(), meta)
    assert path.read_bytes().count(b"\xff\xef" ) >= 3
    back = ff.read_meta(path)
    assert len(back.mask_polygons[0]) == 6000
    np.testing.assert_allclose(back.mask_polygons, meta.mask_polygons)


def test_update_meta_keeps_pixels_and_replaces_metadata(tmp_path):
    for ext in (".jpg", ".png"):
        path = tmp_path / f"f{ext}"
        ff.write_face(path, _image(), _meta())
        before_img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
        labels_before = path.read_bytes().count(ALTERED_MEDIA_LABEL.encode())
        meta = ff.read_meta(path)
        meta.mask_polygons = [[[1, 2], [30, 4], [5, 60]]]
        meta.extra = {"blur": 12.5}
        ff.update_meta(path, meta)
        ff.update_meta(path, meta)  # twice: replaced, not appended
        data = path.read_bytes()
        assert data.count(ALTERED_MEDIA_LABEL.encode()) == labels_before
        img, back = ff.read_face(path)
        assert np.array_equal(img, before_img)
        assert back.mask_polygons == [[[1.0, 2.0], [30.0, 4.0], [5.0, 60.0]]]
        assert back.extra == {"blur": 12.5}


def test_unicode_and_space_path(tmp_path):
    folder = tmp_path / "dossier été" / "顔 セット"
    path = folder / "00001_0.jpg"
    ff.write_face(path, _image(), _meta())
    assert ff.read_meta(path).face_type == "full"
    assert ff.list_faces(folder) == [path]


def test_list_faces_sorted_and_skips_others(tmp_path):
    for name in ("00002_0.jpg", "00001_1.png", "00001_0.JPG"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".00003_0.jpg.abc.tmp.jpg").write_bytes(b"x")
    (tmp_path / "sub.jpg").mkdir()
    names = [p.name for p in ff.list_faces(tmp_path)]
    assert names == ["00001_0.JPG", "00001_1.png", "00002_0.jpg"]
    with pytest.raises(UserError):
        ff.list_faces(tmp_path / "missing")


def test_foreign_and_damaged_files_raise_face_file_error_naming_the_file(tmp_path):
    plain = tmp_path / "plain.jpg"
    cv2.imwrite(str(plain), _image())
    text = tmp_path / "text.jpg"
    text.write_text("hello")
    good = tmp_path / "good.jpg"
    ff.write_face(good, _image(), _meta())
    truncated = tmp_path / "trunc.jpg"
    truncated.write_bytes(good.read_bytes()[:300])
    cases = [plain, text, truncated, tmp_path / "missing.jpg", tmp_path]
    for path in cases:
        with pytest.raises(ff.FaceFileError) as info:
            ff.read_meta(path)
        assert str(path) in str(info.value)
    # the pixels are damaged but the metadata is intact: read_face says so
    data = good.read_bytes()
    sos = data.index(b"\xff\xda")
    (tmp_path / "pix.jpg").write_bytes(data[:sos + 20])
    with pytest.raises(ff.FaceFileError, match="pix.jpg"):
        ff.read_face(tmp_path / "pix.jpg")


@pytest.mark.parametrize("change", [
    {"face_type": "whole_face"}, {"landmarks": [[0, 0]] * 67}, {"source_rect": [1, 2, 3]},
    {"landmarks": [[0, "a"]] * 68}, {"image_to_face_mat": [[1, 0, 0]]}, {"pitch": "x"},
    {"source_size": [-1, 5]}, {"landmarks": [[1e400, 0]] + [[0, 0]] * 67},
    {"mask_polygons": [[[1, 2, 3]]]}, {"source_filename": 5}, {"extra": []},
    {"landmarks": [[True, 0]] * 68}, {"source_pupils": [[1, 2]]},
    {"source_pupils": [[1, 2], [3, "a"]]}, {"source_pupils": [[1, 2], [1e400, 0]]},
    {"source_pupils": [[1, 2, 3], [4, 5, 6]]}, {"source_pupils": {"x": 1}},
])
def test_schema_violations_rejected(tmp_path, change):
    doc = {"format": ff.FORMAT_NAME, "version": 1, "meta": {**_meta().to_dict(), **change}}
    raw = json.dumps(doc).encode().replace(b"Infinity", b"1e400")
    path = tmp_path / "bad.jpg"
    good = ff.encode_face(_image(), _meta())
    path.write_bytes(_with_payload(good, raw))
    with pytest.raises(ff.FaceFileError, match="bad.jpg"):
        ff.read_meta(path)


def test_newer_version_asks_for_update(tmp_path):
    doc = {"format": ff.FORMAT_NAME, "version": 99, "meta": _meta().to_dict()}
    path = tmp_path / "new.jpg"
    path.write_bytes(_with_payload(ff.encode_face(_image(), _meta()), json.dumps(doc).encode()))
    with pytest.raises(ff.FaceFileError, match="newer"):
        ff.read_meta(path)


def test_invalid_meta_refused_on_write(tmp_path):
    meta = _meta()
    meta.landmarks = meta.landmarks[:10]
    with pytest.raises(ff.FaceFileError):
        ff.write_face(tmp_path / "x.jpg", _image(), meta)
    assert not (tmp_path / "x.jpg").exists()


def _with_payload(jpeg: bytes, payload: bytes) -> bytes:
    """Rebuild a JPEG whose APP15 segment carries `payload` verbatim (to test the reader)."""
    import struct
    start = jpeg.index(b"\xff\xef")
    length = struct.unpack(">H", jpeg[start + 2:start + 4])[0]
    body = ff.JPEG_MAGIC + bytes([0, 1]) + payload
    seg = b"\xff\xef" + struct.pack(">H", len(body) + 2) + body
    return jpeg[:start] + seg + jpeg[start + 2 + length:]


_GOOD: dict[str, bytes] = {}


def _good(ext: str) -> bytes:
    if ext not in _GOOD:
        _GOOD[ext] = ff.encode_face(_image(), _meta(), ext)
    return _GOOD[ext]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ext=st.sampled_from([".jpg", ".png"]), pos=st.floats(0, 1), cut=st.booleans(),
       junk=st.binary(min_size=1, max_size=40))
def test_fuzzed_files_never_raise_anything_else(tmp_path, ext, pos, cut, junk):
    data = bytearray(_good(ext))
    # damage mostly the header (where the metadata lives)
    at = int(pos * min(len(data) - 1, 4000))
    if cut:
        data = data[:at]
    else:
        data[at:at + len(junk)] = junk
    path = tmp_path / f"fuzz{ext}"
    path.write_bytes(bytes(data))
    try:
        ff.read_face(path)
    except ff.FaceFileError as exc:
        assert "fuzz" in str(exc)
