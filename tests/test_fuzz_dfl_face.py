"""Fuzz the DeepFaceLab face reader (app.faceset.plain_pickle, dfl_face, dfl_import).

Inputs start from DFL-style faces built from real extracted faces (as tests/test_dfl_import.py
makes them) and are broken byte-wise in the pickle and in the file, or are random pickles of
random plain values. The only exception allowed out of the reader is NotPlainPickle (pickle
level) or FaceFileError naming the file (file level); whatever converts must read back as one
of our faces. Random plain values must read exactly as pickle's own loader reads them (safe
here: the test made them).
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.faceset import face_file as ff
from app.faceset.dfl_import import convert_file
from app.faceset.plain_pickle import NotPlainPickle, load_plain
from test_dfl_import import REAL, dfl1_dict, dfl2_dict, dfl_jpeg, dfl_png, plain_jpeg

SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_DIR = Path(tempfile.mkdtemp(prefix="fuzz-dfl-"))
_JPEG, _META = plain_jpeg(REAL[0])
PICKLES = [pickle.dumps(dfl2_dict(_META, 256), 4), pickle.dumps(dfl1_dict(_META), 2),
           pickle.dumps(dfl1_dict(_META), 3)]
_PNG = __import__("cv2").imencode(".png", ff.read_face(REAL[0])[0])[1].tobytes()


def _mutate(draw, data: bytes, head: int) -> bytes:
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, min(len(data), head) - 1))
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut"]))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[at] = draw(st.sampled_from([0, 1, 0x28, 0x2E, 0x52, 0x62, 0x63, 0x71, 0x93,
                                             0x94, 0x95, 0xFF]))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 32))]
        else:
            data = data[:at]
    return bytes(data)


@st.composite
def broken_pickles(draw) -> bytes:
    data = draw(st.sampled_from(PICKLES))
    return _mutate(draw, data, len(data))


@settings(max_examples=700, **SETTINGS)
@given(data=broken_pickles())
def test_broken_pickles_refuse_cleanly(data):
    try:
        load_plain(data)
    except NotPlainPickle:
        pass


@settings(max_examples=300, **SETTINGS)
@given(data=st.binary(max_size=200))
def test_random_bytes_refuse_cleanly(data):
    try:
        load_plain(b"\x80\x04" + data)
    except NotPlainPickle:
        pass


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
    | st.binary(max_size=6)
    | st.builds(lambda xs, dt: np.array(xs, np.float64).astype(dt),
                st.lists(st.floats(0, 250, width=32), max_size=6),
                st.sampled_from([np.float32, np.float64, np.int16, np.uint8, np.bool_])),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=4), inner, max_size=4), max_leaves=20)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=300, **SETTINGS)
@given(value=plain, protocol=st.integers(0, 5))
def test_plain_values_read_as_pickle_reads_them(value, protocol):
    data = pickle.dumps(value, protocol)
    assert _same(load_plain(data), pickle.loads(data))


@st.composite
def broken_dfl_files(draw) -> tuple[bytes, str]:
    pickled = draw(st.sampled_from(PICKLES))
    if draw(st.booleans()):
        pickled = _mutate(draw, pickled, len(pickled))
    kind = draw(st.sampled_from(["jpg", "png"]))
    data = dfl_jpeg(_JPEG, pickled[:65533]) if kind == "jpg" else dfl_png(_PNG, pickled)
    if draw(st.booleans()):
        data = _mutate(draw, data, min(len(data), 2500))
    return data, kind


@settings(max_examples=400, **SETTINGS)
@given(case=broken_dfl_files())
def test_broken_dfl_files_are_one_clear_error_or_a_good_face(case):
    data, kind = case
    path = _DIR / f"in.{kind}"
    path.write_bytes(data)
    try:
        out, _ours = convert_file(path, _DIR / f"out.{kind}")
    except ff.FaceFileError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    (_DIR / f"out.{kind}").write_bytes(out)
    ff.read_face(_DIR / f"out.{kind}")
