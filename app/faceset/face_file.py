"""Aligned-face files: a JPG (or PNG) that carries its own metadata (docs/FACE_FILE_FORMAT.md).

Every later step (sorting, training, merging, the mask editor) reads faces only through this
module, so the on-disk format is defined once. The metadata is versioned JSON stored

- JPEG: in APP15 segments whose payload starts with `FACESTUDIO\\0` (split over several segments
  when longer than one segment holds), plus a COM segment with the altered-media label;
- PNG: in an iTXt chunk with keyword `facestudio`, plus a tEXt `Comment` with the label.

So a face set needs no sidecar file and survives renaming, sorting and copying. Everything read
is validated: a damaged or foreign file raises `FaceFileError` naming the file, never another
exception, so one bad file cannot crash a batch.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from app import ALTERED_MEDIA_LABEL
from app.errors import UserError
from app.faceset.face_types import FACE_TYPES
from app.fileio import atomic_write_bytes

FORMAT_NAME = "facestudio-face"
FORMAT_VERSION = 2
#: a file carries version 2 only when it has what version 1 lacks (a learned raster mask, the
#: pupils), so faces without them stay readable by programs that read version 1
_V2_KEYS = ("learned_mask", "source_pupils")
FACE_EXTS = (".jpg", ".jpeg", ".png")

JPEG_MAGIC = b"FACESTUDIO\0"
_APP15 = 0xEF
_COM = 0xFE
# segment length field counts itself (2 bytes) and is at most 65535; 2 more bytes: index, count
_JPEG_CHUNK = 65535 - 2 - len(JPEG_MAGIC) - 2
PNG_KEYWORD = b"facestudio"
PNG_SIGNATURE = _PNG_SIG = b"\x89PNG\r\n\x1a\n"
_MAX_META_BYTES = 64 * 1024 * 1024


POLYGON_MODES = ("include", "exclude")


class FaceFileError(UserError):
    """A face file that cannot be read: missing, not an image, foreign, damaged metadata."""


@dataclass
class FaceMeta:
    """Metadata of one aligned face. Coordinates are float pixels; lists keep JSON simple.

    `landmarks` and `mask_polygons` are in the aligned image; `source_*` in the source frame;
    `image_to_face_mat` maps source-frame pixels to aligned-face pixels (2x3).
    """

    face_type: str
    landmarks: list
    source_filename: str
    source_rect: list
    source_landmarks: list
    image_to_face_mat: list
    mask_polygons: list = field(default_factory=list)
    #: per polygon "include" or "exclude" (DeepFaceLab's ie_polys); missing means include
    mask_polygon_modes: list = field(default_factory=list)
    source_size: list = field(default_factory=lambda: [0, 0])
    pitch: float = 0.0
    yaw: float = 0.0
    #: free-form additions by later steps (sort scores, ...): JSON values only
    extra: dict = field(default_factory=dict)
    #: fingerprint of the source frame's file (app/extract/frame_digest.py); "" in older files
    source_digest: str = ""
    #: version 2: the mask network's mask in the aligned image, {"png": base64 grayscale PNG,
    #: "by": what made it} (`mask apply`; app.faceset.face_masks reads and writes it)
    learned_mask: dict | None = None
    #: version 2: pupil centres in the source frame, [[x, y] image-left eye, [x, y] the other],
    #: from the iris net at extraction (app/extract/pupils.py); None in older files
    source_pupils: list | None = None

    def landmarks_array(self) -> np.ndarray:
        return np.asarray(self.landmarks, np.float64)

    def source_landmarks_array(self) -> np.ndarray:
        return np.asarray(self.source_landmarks, np.float64)

    def matrix(self) -> np.ndarray:
        return np.asarray(self.image_to_face_mat, np.float64)

    def pupils_array(self) -> np.ndarray | None:
        """(2, 2) pupil centres in the aligned face's pixels (image-left eye first), or None
        where the file has none (extracted before pupils were recorded)."""
        if self.source_pupils is None:
            return None
        m = self.matrix()
        return np.asarray(self.source_pupils, np.float64) @ m[:, :2].T + m[:, 2]

    def to_dict(self) -> dict:
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, data: Any, path: object = None) -> "FaceMeta":
        """Validate and build; any problem is a FaceFileError naming `path`."""
        return _validate(data, path)


# ---------------------------------------------------------------- public API

def write_face(path: str | Path, image_bgr: np.ndarray, meta: FaceMeta, quality: int = 95) -> None:
    """Encode `image_bgr` (uint8 HxWx3) with `meta` embedded and write it atomically.

    The extension picks the container (.jpg/.jpeg or .png).
    """
    path = Path(path)
    data = encode_face(image_bgr, meta, path.suffix.lower(), quality=quality, path=path)
    atomic_write_bytes(path, data)


def encode_face(image_bgr: np.ndarray, meta: FaceMeta, ext: str = ".jpg", quality: int = 95,
                path: object = None) -> bytes:
    """The bytes `write_face` would write (for callers that write elsewhere or in memory)."""
    import cv2

    meta = _validate(meta.to_dict(), path)  # never write what could not be read back
    if ext not in FACE_EXTS:
        raise FaceFileError(f"unsupported face file extension {ext!r}; use .jpg or .png", path)
    img = np.asarray(image_bgr)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise FaceFileError("face image must be uint8 HxW or HxWx3", path)
    if ext == ".png":
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    else:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise FaceFileError("could not encode the face image", path)
    return embed_meta(buf.tobytes(), meta, path)


def embed_meta(data: bytes, meta: FaceMeta, path: object = None) -> bytes:
    """Return encoded image bytes with our metadata (and the label) replaced/inserted."""
    payload = _meta_json(meta)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_embed(data, payload, path)
    if data.startswith(_PNG_SIG):
        return _png_embed(data, payload, path)
    raise FaceFileError("not a JPEG or PNG image", path)


def update_meta(path: str | Path, meta: FaceMeta) -> None:
    """Replace the metadata of an existing face file without re-encoding its pixels (atomic)."""
    path = Path(path)
    atomic_write_bytes(path, embed_meta(_read_bytes(path), meta, path))


def read_meta(path: str | Path) -> FaceMeta:
    """Metadata of a face file; FaceFileError if it has none or it is damaged."""
    path = Path(path)
    return _extract_meta(_read_bytes(path), path)


def read_face(path: str | Path) -> tuple[np.ndarray, FaceMeta]:
    """(image BGR uint8 HxWx3, metadata); works with non-ASCII paths."""
    import cv2

    path = Path(path)
    data = _read_bytes(path)
    meta = _extract_meta(data, path)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise FaceFileError("the image data is damaged (cannot decode); delete or re-extract "
                            "this face", path)
    return img, meta


def has_meta(path: str | Path) -> bool:
    """True when `path` is a readable face file (for quick filtering; never raises)."""
    try:
        read_meta(path)
        return True
    except FaceFileError:
        return False


#: `faceset debug add` writes `<face stem>_debug.jpg` beside each face (no metadata in them)
DEBUG_SUFFIX = "_debug.jpg"


def list_faces(folder: str | Path) -> list[Path]:
    """Face files (.jpg/.jpeg/.png, any case) in `folder`, sorted by name; temp files and
    `faceset debug` pictures (`*_debug.jpg`) skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("face folder not found; run `python -m app extract` first", folder)
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in FACE_EXTS and not p.name.startswith(".")
                  and not p.name.lower().endswith(DEBUG_SUFFIX))


# ---------------------------------------------------------------- JSON + validation

def _meta_json(meta: FaceMeta) -> bytes:
    plain = meta.to_dict()
    version = FORMAT_VERSION if any(plain.get(k) for k in _V2_KEYS) else 1
    for k in _V2_KEYS:
        if not plain.get(k):
            plain.pop(k, None)
    doc = {"format": FORMAT_NAME, "version": version, "label": ALTERED_MEDIA_LABEL,
           "meta": plain}
    try:
        return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise FaceFileError(f"face metadata cannot be stored ({exc})") from None


def _parse_json(payload: bytes, path: object) -> FaceMeta:
    try:
        doc = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FaceFileError(f"face metadata is damaged (not valid JSON: {exc}); re-extract "
                            "this face", path) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise FaceFileError("face metadata has an unknown format", path)
    version = doc.get("version")
    if type(version) is not int or version < 1:
        raise FaceFileError("face metadata has no valid version", path)
    if version > FORMAT_VERSION:
        raise FaceFileError(f"face file format version {version} is newer than this program "
                            f"reads ({FORMAT_VERSION}); update the program", path)
    return _validate(doc.get("meta"), path)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _validate(data: Any, path: object) -> FaceMeta:
    def bad(what: str) -> FaceFileError:
        return FaceFileError(f"face metadata is invalid ({what}); re-extract this face", path)

    if not isinstance(data, dict):
        raise bad("not an object")
    names = {f.name for f in fields(FaceMeta)}
    required = {"face_type", "landmarks", "source_filename", "source_rect", "source_landmarks",
                "image_to_face_mat"}
    missing = required - data.keys()
    if missing:
        raise bad("missing " + ", ".join(sorted(missing)))
    if data["face_type"] not in FACE_TYPES:
        raise bad(f"face_type must be one of {FACE_TYPES}")
    if not isinstance(data["source_filename"], str):
        raise bad("source_filename must be text")
    out = {k: v for k, v in data.items() if k in names}
    out["landmarks"] = _points(data["landmarks"], 68, "landmarks", bad)
    out["source_landmarks"] = _points(data["source_landmarks"], 68, "source_landmarks", bad)
    out["source_rect"] = _numbers(data["source_rect"], 4, "source_rect", bad)
    mat = data["image_to_face_mat"]
    if not isinstance(mat, list) or len(mat) != 2:
        raise bad("image_to_face_mat must be 2x3")
    out["image_to_face_mat"] = [_numbers(row, 3, "image_to_face_mat", bad) for row in mat]
    polys = data.get("mask_polygons", [])
    if not isinstance(polys, list):
        raise bad("mask_polygons must be a list")
    out["mask_polygons"] = [_points(p, None, "mask_polygons", bad) for p in polys]
    modes = data.get("mask_polygon_modes") or ["include"] * len(polys)  # none given: include
    if (not isinstance(modes, list) or len(modes) != len(polys)
            or not all(m in POLYGON_MODES for m in modes)):
        raise bad("mask_polygon_modes must list include or exclude for each mask polygon")
    out["mask_polygon_modes"] = list(modes)
    size = data.get("source_size", [0, 0])
    if (not isinstance(size, list) or len(size) != 2
            or not all(type(v) is int and 0 <= v < 2 ** 31 for v in size)):
        raise bad("source_size must be two non-negative integers")
    out["source_size"] = list(size)
    for key in ("pitch", "yaw"):
        out[key] = _number(data.get(key, 0.0), key, bad)
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise bad("extra must be an object")
    if _too_deep(extra, _MAX_EXTRA_DEPTH):
        raise bad(f"extra is nested deeper than {_MAX_EXTRA_DEPTH} levels")
    out["extra"] = extra
    digest = data.get("source_digest", "")
    if not isinstance(digest, str) or len(digest) > 200:
        raise bad("source_digest must be a short text")
    out["source_digest"] = digest
    out["learned_mask"] = _learned_mask(data.get("learned_mask"), bad)
    pupils = data.get("source_pupils")
    out["source_pupils"] = None if pupils is None else _points(pupils, 2, "source_pupils", bad)
    return FaceMeta(**out)


#: base64 text of a learned mask: a 256 px grayscale PNG is a few KB; 1024 px at most ~1.4 MB
_MAX_MASK_CHARS = 4 * 1024 * 1024


def _learned_mask(v: Any, bad) -> dict | None:
    """None, or {"png": base64 text, "by": text} (decoded only where used: face_masks)."""
    if v is None:
        return None
    if (not isinstance(v, dict) or not isinstance(v.get("png"), str) or not v["png"]
            or len(v["png"]) > _MAX_MASK_CHARS or not isinstance(v.get("by", ""), str)):
        raise bad("learned_mask must be {png: base64 PNG text, by: text}")
    return {"png": v["png"], "by": v.get("by", "")}


#: JSON nesting allowed in `extra`: deeper values parse but then overflow the recursion of
#: to_dict()/asdict() (found by fuzzing: `faceset info --json` crashed on such a file).
_MAX_EXTRA_DEPTH = 64


def _too_deep(value: Any, limit: int) -> bool:
    """True when lists/dicts in `value` nest deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (list, dict)):
            if depth >= limit:
                return True
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return False


def _number(v: Any, what: str, bad) -> float:
    if type(v) not in (int, float):
        raise bad(f"{what} must be finite numbers")
    try:
        f = float(v)
    except OverflowError:
        raise bad(f"{what} must be finite numbers") from None
    if not math.isfinite(f):
        raise bad(f"{what} must be finite numbers")
    return f


def _numbers(v: Any, n: int, what: str, bad) -> list:
    if not isinstance(v, list) or len(v) != n:
        raise bad(f"{what} must be {n} numbers")
    return [_number(x, what, bad) for x in v]


#: the largest |x| or |y| a point may have, in pixels: far beyond any frame, and small enough
#: that mapping a point through a face's matrix stays finite (fuzzing found pupils at 1e308
#: that read as finite numbers and came out of the mapping as inf)
_MAX_COORD = 1e6


def _points(v: Any, n: int | None, what: str, bad) -> list:
    if not isinstance(v, list) or (n is not None and len(v) != n):
        raise bad(f"{what} must be {n if n else 'a list of'} [x, y] pairs")
    points = [_numbers(p, 2, what, bad) for p in v]
    if any(abs(c) > _MAX_COORD for p in points for c in p):
        raise bad(f"{what} lie outside any frame (more than {_MAX_COORD:.0e} px)")
    return points


def _plain(v: Any) -> Any:
    """numpy arrays/scalars and tuples -> JSON-ready lists and floats."""
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


# ---------------------------------------------------------------- containers

def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FaceFileError("face file not found", path) from None
    except IsADirectoryError:
        raise FaceFileError("is a folder, not a face file", path) from None
    except OSError as exc:
        raise FaceFileError(f"cannot read face file ({exc.strerror})", path) from None


def _extract_meta(data: bytes, path: object) -> FaceMeta:
    if data.startswith(b"\xff\xd8"):
        payload = _jpeg_payload(data, path)
    elif data.startswith(_PNG_SIG):
        payload = _png_payload(data, path)
    else:
        raise FaceFileError("not a JPEG or PNG face file", path)
    if payload is None:
        if _looks_like_dfl(data, path):
            raise FaceFileError("this is a DeepFaceLab face; convert its folder with "
                                "`python -m app faceset import-dfl FOLDER`", path)
        raise FaceFileError("this image has no face metadata (not an aligned face from "
                            "`python -m app extract`); extract faces with it", path)
    return _parse_json(payload, path)


_PICKLE_PROTO = b"\x80"  # pickle's PROTO opcode, first byte of protocol 2+ pickles


def _looks_like_dfl(data: bytes, path: object) -> bool:
    """An APP15 segment (JPEG) or fcWp chunk (PNG) holding a pickle, as DeepFaceLab writes them.

    Only the pickle's protocol opcode is looked at (never unpickled): other programs use APP15
    too (Adobe's colour settings), and those files are simply not faces.
    """
    if data.startswith(_PNG_SIG):
        return any(ctype == b"fcWp" and body[:1] == _PICKLE_PROTO
                   for ctype, _s, _e, body in png_chunks(data, path))
    return any(marker == _APP15 and data[body:body + 1] == _PICKLE_PROTO
               for marker, _s, _e, body in jpeg_segments(data, path))


def jpeg_segments(data: bytes, path: object):
    """Yield (marker, start, end, payload_start) of the header segments up to SOS."""
    pos = 2
    n = len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise FaceFileError("JPEG structure is damaged", path)
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:
            continue
        if marker == 0xD9:
            return
        if pos + 2 > n:
            raise FaceFileError("JPEG file is truncated", path)
        length = struct.unpack(">H", data[pos:pos + 2])[0]
        if length < 2 or pos + length > n:
            raise FaceFileError("JPEG file is truncated or damaged", path)
        yield marker, pos - 2, pos + length, pos + 2
        if marker == 0xDA:  # start of scan: header segments are over
            return
        pos += length


def _jpeg_payload(data: bytes, path: object) -> bytes | None:
    parts: dict[int, bytes] = {}
    count = None
    for marker, _start, end, body in jpeg_segments(data, path):
        if marker == _APP15 and data[body:body + len(JPEG_MAGIC)] == JPEG_MAGIC:
            head = body + len(JPEG_MAGIC)
            if head + 2 > end:
                raise FaceFileError("face metadata segment is damaged", path)
            index, total = data[head], data[head + 1]
            if total == 0 or index >= total or (count is not None and total != count):
                raise FaceFileError("face metadata segments are inconsistent", path)
            count = total
            parts[index] = data[head + 2:end]
    if count is None:
        return None
    if len(parts) != count:
        raise FaceFileError("face metadata is incomplete (segments missing)", path)
    return b"".join(parts[i] for i in range(count))


def _jpeg_embed(data: bytes, payload: bytes, path: object) -> bytes:
    chunks = [payload[i:i + _JPEG_CHUNK] for i in range(0, len(payload), _JPEG_CHUNK)] or [b""]
    if len(chunks) > 255:
        raise FaceFileError("face metadata too large for a JPEG file", path)
    ours = bytearray()
    label = ALTERED_MEDIA_LABEL.encode("utf-8")
    ours += b"\xff" + bytes([_COM]) + struct.pack(">H", len(label) + 2) + label
    for i, chunk in enumerate(chunks):
        body = JPEG_MAGIC + bytes([i, len(chunks)]) + chunk
        ours += b"\xff" + bytes([_APP15]) + struct.pack(">H", len(body) + 2) + body
    kept = bytearray(data[:2])
    insert_at = None
    rest_from = 2
    for marker, start, end, body in jpeg_segments(data, path):
        is_ours = marker == _APP15 and data[body:body + len(JPEG_MAGIC)] == JPEG_MAGIC
        is_label = marker == _COM and data[body:end] == label
        if marker == 0xDA:
            rest_from = start
            break
        if not (is_ours or is_label):
            kept += data[start:end]
            if insert_at is None and marker != 0xE0:  # after APP0 (JFIF), before the rest
                insert_at = len(kept) - (end - start)
        rest_from = end
    if insert_at is None:
        insert_at = len(kept)
    return bytes(kept[:insert_at] + ours + kept[insert_at:]) + data[rest_from:]


def png_chunks(data: bytes, path: object):
    pos = len(_PNG_SIG)
    n = len(data)
    while pos < n:
        if pos + 8 > n:
            raise FaceFileError("PNG file is truncated", path)
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > n:
            raise FaceFileError("PNG file is truncated or damaged", path)
        yield ctype, pos, end, data[pos + 8:pos + 8 + length]
        if ctype == b"IEND":
            return
        pos = end


def _png_payload(data: bytes, path: object) -> bytes | None:
    for ctype, _s, _e, body in png_chunks(data, path):
        if ctype == b"iTXt" and body.startswith(PNG_KEYWORD + b"\0"):
            rest = body[len(PNG_KEYWORD) + 1:]
            if len(rest) < 2:
                raise FaceFileError("face metadata chunk is damaged", path)
            compressed = rest[0]
            rest = rest[2:]
            parts = rest.split(b"\0", 2)  # language tag, translated keyword, text
            if len(parts) != 3:
                raise FaceFileError("face metadata chunk is damaged", path)
            text = parts[2]
            if compressed:
                try:
                    dec = zlib.decompressobj()
                    text = dec.decompress(text, _MAX_META_BYTES)
                except zlib.error:
                    raise FaceFileError("face metadata chunk is damaged", path) from None
            return text
    return None


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def _png_embed(data: bytes, payload: bytes, path: object) -> bytes:
    label = b"Comment\0" + ALTERED_MEDIA_LABEL.encode("latin-1", "replace")
    itxt = PNG_KEYWORD + b"\0" + b"\x01\x00" + b"\0" + b"\0" + zlib.compress(payload, 6)
    out = bytearray(_PNG_SIG)
    for ctype, start, end, body in png_chunks(data, path):
        if ctype == b"iTXt" and body.startswith(PNG_KEYWORD + b"\0"):
            continue
        if ctype == b"tEXt" and body == label:
            continue
        out += data[start:end]
        if ctype == b"IHDR":
            out += _png_chunk(b"tEXt", label) + _png_chunk(b"iTXt", itxt)
    return bytes(out)
