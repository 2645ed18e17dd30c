"""Fuzz the aligned-face metadata reader with 3500 cases built from real face files.

tests/test_face_file.py already cuts/overwrites bytes of a synthetic face (150 cases). Here the
inputs start from faces the app's extraction really wrote (tests/media/*/aligned, train sets)
and are broken three ways: byte-wise (flip, insert, delete, repeat runs), segment-wise (drop,
repeat, reorder, re-length JPEG segments and PNG chunks, bad part index/count), and content-wise
(random JSON, and valid documents with one field replaced by random JSON). The only exception
allowed out of `read_meta`/`read_face` is FaceFileError naming the file; and whatever reads
without error must be writable and read back the same (one bad face must not crash a later step).
"""

from __future__ import annotations

import json
import struct
import tempfile
import zlib
from pathlib import Path

import cv2
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.faceset import face_file as ff
from test_fault_helpers import MEDIA

REAL_FACES = sorted((MEDIA / "merge" / "dst" / "aligned").glob("*.jpg"))[:3] + \
    sorted((MEDIA / "train" / "src").glob("*.jpg"))[:2]
SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_DIR = Path(tempfile.mkdtemp(prefix="fuzz-face-"))


def _png_face(jpg: Path) -> bytes:
    img, meta = ff.read_face(jpg)
    return ff.encode_face(img, meta, ".png")


SEEDS = {"jpg": [p.read_bytes() for p in REAL_FACES]}
SEEDS["png"] = [_png_face(REAL_FACES[0]), _png_face(REAL_FACES[-1])]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=5),
    max_leaves=30)


def _check(data: bytes, name: str, decode: bool = False) -> None:
    """The property: FaceFileError naming the file, or metadata that survives a rewrite."""
    path = _DIR / name
    path.write_bytes(data)
    try:
        if decode:
            img, meta = ff.read_face(path)
        else:
            meta = ff.read_meta(path)
    except ff.FaceFileError as exc:
        assert str(path) in str(exc)
        return
    json.dumps(meta.to_dict(), allow_nan=False)
    if decode:
        again = _DIR / ("again" + path.suffix)
        try:
            ff.write_face(again, img, meta)
        except ff.FaceFileError:
            return  # e.g. `extra` holds a huge float: refused cleanly when writing
        assert ff.read_meta(again).to_dict() == meta.to_dict()


# ---------------------------------------------------------------- byte-wise

@st.composite
def byte_mutations(draw) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["jpg", "png"]))
    data = bytearray(draw(st.sampled_from(SEEDS[kind])))
    head = min(len(data), 3000 if kind == "jpg" else 1200)  # where the metadata lives
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, min(len(data), head) - 1))
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "repeat", "cut"]))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[at:at + 1] = bytes([draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 0xD9,
                                                           0xDA, 0xEF, ord("{"), ord('"')]))])
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "repeat":
            n = draw(st.integers(1, 64))
            data[at:at] = data[at:at + n]
        else:
            data = data[:at]
    return bytes(data), kind


@settings(max_examples=1000, **SETTINGS)
@given(case=byte_mutations())
def test_byte_mutations_of_real_faces(case):
    data, kind = case
    _check(data, f"bytes.{kind}")


@settings(max_examples=300, **SETTINGS)
@given(prefix=st.sampled_from([b"", b"\xff\xd8", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"]),
       body=st.binary(max_size=300))
def test_random_bytes(prefix, body):
    _check(prefix + body, "random.jpg")


# ---------------------------------------------------------------- segment-wise (JPEG)

def jpeg_parts(data: bytes) -> tuple[list[bytes], bytes]:
    """Header segments (each with marker and length) and the rest from SOS on."""
    segs, pos = [], 2
    while data[pos + 1] != 0xDA:
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segs.append(data[pos:pos + 2 + length])
        pos += 2 + length
    return segs, data[pos:]


def is_ours(seg: bytes) -> bool:
    return seg[1] == 0xEF and seg[4:4 + len(ff.JPEG_MAGIC)] == ff.JPEG_MAGIC


def our_segment(payload: bytes, index: int = 0, total: int = 1) -> bytes:
    body = ff.JPEG_MAGIC + bytes([index % 256, total % 256]) + payload
    return b"\xff\xef" + struct.pack(">H", min(len(body) + 2, 65535)) + body


@st.composite
def segment_mutations(draw) -> bytes:
    segs, rest = jpeg_parts(draw(st.sampled_from(SEEDS["jpg"])))
    for _ in range(draw(st.integers(1, 3))):
        if not segs:
            break
        i = draw(st.integers(0, len(segs) - 1))
        op = draw(st.sampled_from(["drop", "repeat", "swap", "length", "index", "truncate",
                                   "foreign"]))
        seg = segs[i]
        if op == "drop":
            del segs[i]
        elif op == "repeat":
            segs.insert(i, seg)
        elif op == "swap":
            j = draw(st.integers(0, len(segs) - 1))
            segs[i], segs[j] = segs[j], segs[i]
        elif op == "length":
            segs[i] = seg[:2] + struct.pack(">H", draw(st.integers(0, 65535))) + seg[4:]
        elif op == "index" and is_ours(seg):
            at = 4 + len(ff.JPEG_MAGIC)
            segs[i] = seg[:at] + bytes([draw(st.integers(0, 255)), draw(st.integers(0, 255))]) \
                + seg[at + 2:]
        elif op == "truncate":
            cut = draw(st.integers(4, max(4, len(seg) - 1)))
            segs[i] = seg[:2] + struct.pack(">H", cut - 2) + seg[4:cut]
        else:  # an APP segment of another program in between
            marker = draw(st.sampled_from([0xE1, 0xE2, 0xED, 0xEE, 0xEF, 0xFE]))
            body = draw(st.binary(max_size=200))
            segs.insert(i, b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body)
    return b"\xff\xd8" + b"".join(segs) + rest


@settings(max_examples=800, **SETTINGS)
@given(data=segment_mutations())
def test_segment_mutations_of_real_faces(data):
    _check(data, "segments.jpg")


# ---------------------------------------------------------------- content-wise

def _doc(seed: bytes) -> dict:
    segs, _ = jpeg_parts(seed)
    return json.loads(b"".join(s[4 + len(ff.JPEG_MAGIC) + 2:] for s in segs if is_ours(s)))


DOCS = [_doc(s) for s in SEEDS["jpg"]]
META_KEYS = sorted(DOCS[0]["meta"]) + ["unknown_key", "learned_mask", "source_pupils"]


def _mask_field():
    good = __import__("base64").b64encode(cv2.imencode(".png", (255 * (cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (32, 32)))).astype("uint8"))[1].tobytes()).decode()
    return st.fixed_dictionaries({"png": st.sampled_from([good, good[:40], good + "==", "@@",
                                                          ""]) | st.text(max_size=30),
                                  "by": st.text(max_size=5)}) | json_values


@settings(max_examples=300, **SETTINGS)
@given(field=_mask_field())
def test_fuzzed_learned_masks_read_as_a_mask_or_one_error(field):
    """A learned-mask field passes validation only as {png: text, by: text}; decoding it gives
    a mask or a FaceFileError naming the file, never another exception."""
    from app.faceset.face_masks import aligned_face_mask

    doc = json.loads(json.dumps(DOCS[0]))
    doc["meta"]["learned_mask"] = field
    doc["version"] = 2
    path = _DIR / "mask.jpg"
    seed = SEEDS["jpg"][0]
    segs, rest = jpeg_parts(seed)
    ours = [our_segment(json.dumps(doc).encode(), 0, 1)]
    path.write_bytes(b"\xff\xd8" + b"".join([s for s in segs if not is_ours(s)] + ours) + rest)
    try:
        meta = ff.read_meta(path)
        mask = aligned_face_mask(meta, (64, 64), path=path)
    except ff.FaceFileError as exc:
        assert str(path) in str(exc)
        return
    assert mask.shape == (64, 64) and 0 <= mask.min() and mask.max() <= 1


def _pupils_field():
    number = st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.booleans() \
        | st.text(max_size=3) | st.none()
    point = st.lists(number, min_size=0, max_size=3)
    return st.lists(point, min_size=0, max_size=3) | json_values


@settings(max_examples=300, **SETTINGS)
@given(field=_pupils_field())
@example(field=[[0.0, 0.0], [0.0, 1.0833612349450439e+308]])   # finite, but inf once mapped
def test_fuzzed_pupils_read_as_two_finite_points_or_one_error(field):
    """source_pupils passes validation only as two [x, y] pairs of finite numbers; mapped into
    the aligned face it gives a finite 2x2 array; anything else is a FaceFileError naming the
    file."""
    import numpy as np

    doc = json.loads(json.dumps(DOCS[0]))
    doc["meta"]["source_pupils"] = field
    doc["version"] = 2
    payload = json.dumps(doc).encode()
    path = _DIR / "pupils.jpg"
    segs, rest = jpeg_parts(SEEDS["jpg"][0])
    path.write_bytes(b"\xff\xd8" + b"".join([s for s in segs if not is_ours(s)]
                                             + [our_segment(payload)]) + rest)
    try:
        meta = ff.read_meta(path)
    except ff.FaceFileError as exc:
        assert str(path) in str(exc)
        return
    if meta.source_pupils is None:
        assert field is None
        return
    pupils = meta.pupils_array()
    assert pupils.shape == (2, 2) and np.isfinite(pupils).all()


@st.composite
def content_mutations(draw) -> bytes:
    seed = draw(st.sampled_from(SEEDS["jpg"]))
    segs, rest = jpeg_parts(seed)
    segs = [s for s in segs if not is_ours(s)]
    doc = json.loads(json.dumps(draw(st.sampled_from(DOCS))))
    mode = draw(st.sampled_from(["meta-field", "doc-field", "whole", "text"]))
    if mode == "meta-field":
        key = draw(st.sampled_from(META_KEYS))
        if draw(st.booleans()) and key in doc["meta"]:
            del doc["meta"][key]
        else:
            doc["meta"][key] = draw(json_values)
        payload = json.dumps(doc).encode()
    elif mode == "doc-field":
        doc[draw(st.sampled_from(["format", "version", "meta", "label"]))] = draw(json_values)
        payload = json.dumps(doc).encode()
    elif mode == "whole":
        payload = json.dumps(draw(json_values)).encode()
    else:
        payload = draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    parts = [payload[i:i + 60000] for i in range(0, len(payload), 60000)] or [b""]
    ours = [our_segment(p, i, len(parts)) for i, p in enumerate(parts)]
    at = draw(st.integers(0, len(segs)))
    return b"\xff\xd8" + b"".join(segs[:at] + ours + segs[at:]) + rest


@settings(max_examples=1000, **SETTINGS)
@given(data=content_mutations())
def test_random_json_in_the_face_segment(data):
    _check(data, "content.jpg", decode=True)


# ---------------------------------------------------------------- PNG chunks

def png_chunk(ctype: bytes, body: bytes, crc_ok: bool = True) -> bytes:
    crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc ^ (0 if crc_ok
                                                                                   else 1))


@st.composite
def png_mutations(draw) -> bytes:
    seed = draw(st.sampled_from(SEEDS["png"]))
    ihdr_end = 8 + 25
    doc = json.loads(json.dumps(DOCS[0]))
    if draw(st.booleans()):
        doc["meta"][draw(st.sampled_from(META_KEYS))] = draw(json_values)
    text = json.dumps(doc).encode()
    compressed = draw(st.booleans())
    if compressed:
        text = zlib.compress(text)
        if draw(st.booleans()):
            text = text[:draw(st.integers(0, len(text)))]
    header = draw(st.sampled_from([b"\x00\x00\0\0", b"\x01\x00\0\0", b"\x01\x00", b"\x01",
                                   b"", b"\x00\x00en\0facestudio\0"]))
    if compressed and header.startswith(b"\x00"):
        header = b"\x01" + header[1:]
    body = ff.PNG_KEYWORD + b"\0" + header + text
    chunk = png_chunk(b"iTXt", body, draw(st.booleans()))
    if draw(st.booleans()):  # declared length past the end of the file
        chunk = struct.pack(">I", draw(st.integers(0, 2 ** 32 - 1))) + chunk[4:]
    return seed[:ihdr_end] + chunk + seed[ihdr_end:]


@settings(max_examples=400, **SETTINGS)
@given(data=png_mutations())
def test_png_metadata_chunks(data):
    _check(data, "chunks.png", decode=True)


def test_seeds_are_real_extracted_faces():
    """The fuzz starts from valid files: each seed reads, and PNG seeds hold the same metadata."""
    for data, name in [(d, "seed.jpg") for d in SEEDS["jpg"]] + \
            [(d, "seed.png") for d in SEEDS["png"]]:
        path = _DIR / name
        path.write_bytes(data)
        meta = ff.read_meta(path)
        assert meta.face_type in ff.FACE_TYPES and len(meta.landmarks) == 68
    assert len(SEEDS["jpg"]) == 5 and cv2.imdecode is not None


@pytest.mark.slow
@settings(max_examples=20000, **SETTINGS)
@given(data=st.one_of(byte_mutations().map(lambda c: c[0]), segment_mutations(),
                      content_mutations()))
def test_deep_fuzz_all_mutations(data):
    """The same properties over 20000 mixed cases (slow: run with -m slow)."""
    _check(data, "deep.jpg" if data[:2] == b"\xff\xd8" else "deep.png")
