"""One DeepFaceLab aligned face (1.0 or 2.0) read and turned into our face metadata.

DeepFaceLab's format (facts from its public source, DFLIMG/DFLJPG.py, 1.0's utils/DFLJPG.py and
utils/DFLPNG.py): a JPEG whose APP15 segment (`FF EF`) is the whole pickled dict, with no magic
before it, placed after the other APPn segments; or a PNG whose private chunk `fcWp`, before
IEND, is the pickled dict. The dict holds `face_type` ("half_face", "midfull_face",
"full_face", "full_face_no_align", "whole_face", "head", "head_no_align", "mark_only"),
`landmarks` (68 points in the aligned image), `source_filename`, `source_rect` (l, t, r, b),
`source_landmarks`, `image_to_face_mat` (2x3), `eyebrows_expand_mod`, 1.0's mask-editor
polygons `ie_polys` ([(type, points)], type 1 include, 0 exclude), 2.0's XSeg polygons
`seg_ie_polys` ({"polys": [{"type", "pts"}]}), 2.0's XSeg mask `xseg_mask` (an encoded PNG/JPG
as a uint8 array), 1.0's `fanseg_mask` (encoded JPG), `pitch_yaw_roll`, `relighted`.

The pickle is read with `plain_pickle.load_plain`, never with pickle's loader.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from app.faceset.landmarks import estimate_pitch_yaw
from app.faceset import face_file as ff
from app.faceset.plain_pickle import DamagedPickle, NotPlainPickle, load_plain

PNG_CHUNK = b"fcWp"
_APP15 = 0xEF

#: DeepFaceLab face type -> ours: the widest of ours the DFL crop still covers (training
#: re-aligns every face from its landmarks, so a wider crop only costs border pixels).
FACE_TYPE_MAP = {"half_face": "half", "midfull_face": "midfull", "full_face": "full",
                 "full_face_no_align": "full", "whole_face": "whole", "head": "head",
                 "head_no_align": "head"}
#: keys mapped to our own fields; everything else is kept under extra["dfl"]
_MAPPED = {"landmarks", "source_filename", "source_rect", "source_landmarks",
           "image_to_face_mat"}


class DflFaceError(ff.FaceFileError):
    """A file that is not a DeepFaceLab face we can import; the message says why."""


def split_dfl(data: bytes, path: object) -> tuple[bytes, bytes]:
    """(image bytes without DFL's metadata, the pickled metadata) of a DFL JPG or PNG."""
    if data.startswith(b"\xff\xd8"):
        return _split_jpeg(data, path)
    if data.startswith(ff.PNG_SIGNATURE):
        return _split_png(data, path)
    raise DflFaceError("not a JPEG or PNG image", path)


def _split_jpeg(data: bytes, path: object) -> tuple[bytes, bytes]:
    found = None
    for marker, start, end, body in ff.jpeg_segments(data, path):
        if marker == _APP15:
            if data[body:body + len(ff.JPEG_MAGIC)] == ff.JPEG_MAGIC:
                raise DflFaceError("already a FaceStudio face", path)
            found = (start, end, body)  # DeepFaceLab's reader keeps the last APP15
    if found is None:
        raise DflFaceError("has no DeepFaceLab metadata (no APP15 segment); not an aligned "
                           "face from DeepFaceLab's extractor", path)
    start, end, body = found
    return data[:start] + data[end:], data[body:end]


def _split_png(data: bytes, path: object) -> tuple[bytes, bytes]:
    found = None
    for ctype, start, end, body in ff.png_chunks(data, path):
        if ctype == b"iTXt" and body.startswith(ff.PNG_KEYWORD + b"\0"):
            raise DflFaceError("already a FaceStudio face", path)
        if ctype == PNG_CHUNK:
            found = (start, end, body)
    if found is None:
        raise DflFaceError("has no DeepFaceLab metadata (no fcWp chunk); not an aligned face "
                           "from DeepFaceLab's extractor", path)
    start, end, body = found
    return data[:start] + data[end:], bytes(body)


def read_dfl_dict(pickled: bytes, path: object) -> dict:
    """The metadata dict, built without pickle's loader; DflFaceError if it is anything else."""
    try:
        value = load_plain(pickled)
    except DamagedPickle as exc:
        raise DflFaceError(f"DeepFaceLab metadata is damaged or truncated ({exc}); re-extract "
                           "this face in DeepFaceLab or leave it out", path) from None
    except NotPlainPickle as exc:
        raise DflFaceError(f"not a plain DeepFaceLab face: {exc}", path) from None
    if type(value) is not dict:
        raise DflFaceError("not a plain DeepFaceLab face: its metadata is not a dict", path)
    return value


def dfl_to_meta(d: dict, image_size: tuple[int, int], path: object) -> ff.FaceMeta:
    """Our metadata for DFL dict `d`; DflFaceError naming what is missing or wrong."""
    def bad(what: str) -> DflFaceError:
        return DflFaceError(f"DeepFaceLab face {what}; re-extract it in DeepFaceLab or leave "
                            "it out", path)

    if d.get("landmarks") is None:
        raise bad("without landmarks")
    dfl_type = d.get("face_type", "full_face")  # DFL's own default when missing
    face_type = FACE_TYPE_MAP.get(dfl_type) if isinstance(dfl_type, str) else None
    if face_type is None:
        raise bad(f"of face type {dfl_type!r}, which is not an aligned face this program "
                  f"trains on ({', '.join(sorted(FACE_TYPE_MAP))})")
    landmarks = _points(d["landmarks"], 68, "landmarks", bad)
    if d.get("source_landmarks") is None or d.get("image_to_face_mat") is None:
        raise bad("without source landmarks or image-to-face matrix")
    source_lm = _points(d["source_landmarks"], 68, "source_landmarks", bad)
    mat = _matrix(d["image_to_face_mat"], bad)
    rect = d.get("source_rect")
    rect = _numbers(rect, 4, "source_rect", bad) if rect is not None else _bbox(source_lm)
    name = d.get("source_filename")
    polys, modes = _polygons(d, bad)
    pitch, yaw = estimate_pitch_yaw(np.asarray(source_lm))
    return ff.FaceMeta(
        face_type=face_type, landmarks=landmarks,
        source_filename=name if isinstance(name, str) else "",
        source_rect=rect, source_landmarks=source_lm, image_to_face_mat=mat,
        mask_polygons=polys, mask_polygon_modes=modes, source_size=[0, 0],
        pitch=pitch, yaw=yaw,
        extra={"dfl": {k: to_json(v) for k, v in d.items()
                       if k not in _MAPPED and type(k) is str},
               "dfl_image_size": list(image_size)},
        learned_mask=_xseg_mask(d.get("xseg_mask")))


def _xseg_mask(v) -> dict | None:
    """DFL 2.0's applied XSeg mask (an encoded PNG, or JPEG when large, at the face image's
    size) as our learned mask, so training and merge use it as DFL's did; None when absent or
    not an image (it stays in extra["dfl"] either way)."""
    import cv2

    if isinstance(v, np.ndarray) and v.dtype == np.uint8 and v.ndim == 1:
        v = v.tobytes()
    if not isinstance(v, (bytes, bytearray)) or not v:
        return None
    if cv2.imdecode(np.frombuffer(v, np.uint8), cv2.IMREAD_GRAYSCALE) is None:
        return None
    return {"png": base64.b64encode(bytes(v)).decode("ascii"), "by": "DeepFaceLab XSeg"}


def _polygons(d: dict, bad) -> tuple[list, list]:
    """1.0's ie_polys, else 2.0's seg_ie_polys, as our polygons and include/exclude modes."""
    raw = d.get("ie_polys")
    if not raw:
        raw = d.get("seg_ie_polys")
        if isinstance(raw, dict):
            raw = raw.get("polys")
    polys, modes = [], []
    for item in raw or []:
        if isinstance(item, dict):
            kind, pts = item.get("type"), item.get("pts")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            kind, pts = item
        else:
            raise bad("with damaged mask polygons")
        pts = _points(pts, None, "mask polygons", bad)
        if type(kind) not in (int, bool) and not isinstance(kind, np.integer):
            raise bad("with damaged mask polygons")
        if pts:
            polys.append(pts)
            modes.append("include" if int(kind) == 1 else "exclude")
    return polys, modes


def _points(v: Any, n: int | None, what: str, bad) -> list:
    arr = _float_array(v, what, bad)
    if arr.size == 0 and n is None:
        return []
    if arr.ndim != 2 or arr.shape[1] != 2 or (n is not None and arr.shape[0] != n):
        raise bad(f"with {what} that are not {n or 'a list of'} (x, y) points")
    return arr.tolist()


def _numbers(v: Any, n: int, what: str, bad) -> list:
    arr = _float_array(v, what, bad).reshape(-1)
    if arr.size != n:
        raise bad(f"with {what} that is not {n} numbers")
    return arr.tolist()


def _matrix(v: Any, bad) -> list:
    arr = _float_array(v, "image_to_face_mat", bad)
    if arr.shape != (2, 3):
        raise bad("with an image_to_face_mat that is not 2x3")
    return arr.tolist()


def _float_array(v: Any, what: str, bad) -> np.ndarray:
    try:
        arr = np.asarray(v if isinstance(v, np.ndarray) else _no_text(v), np.float64)
    except (ValueError, TypeError, OverflowError):
        raise bad(f"with {what} that are not numbers") from None
    if arr.dtype.kind not in "fiub" or not np.isfinite(arr).all():
        raise bad(f"with {what} that are not finite numbers")
    return arr


def _no_text(v: Any) -> Any:
    """np.asarray would parse "1.5" as a number; DFL never stores numbers as text."""
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, (str, bytes, dict)) or x is None:
            raise TypeError("not a number")
        if isinstance(x, (list, tuple)):
            stack.extend(x)
    return v


def _bbox(points: list) -> list:
    arr = np.asarray(points)
    return [*arr.min(0).tolist(), *arr.max(0).tolist()]


def to_json(v: Any) -> Any:
    """A plain DFL value as JSON: arrays -> lists (uint8 arrays and bytes, the encoded masks,
    -> {"base64": ...}), tuples -> lists, numpy scalars -> numbers, non-finite -> None."""
    if isinstance(v, np.ndarray):
        if v.dtype == np.uint8:
            return {"base64": base64.b64encode(v.tobytes()).decode("ascii")}
        return to_json(v.tolist())
    if isinstance(v, bytes):
        return {"base64": base64.b64encode(v).decode("ascii")}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return to_json(v.item())
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2 ** 63:
        return str(v)
    if isinstance(v, complex):
        return [v.real, v.imag]
    return v
