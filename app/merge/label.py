"""Encode merged frames with the altered-media label embedded (PNG tEXt, JPEG COM segment).

Frames that had no face are copied byte for byte with the label inserted, so their pixels stay
exactly the dst frame's.
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

from app import ALTERED_MEDIA_LABEL
from app.errors import UserError

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"Comment"


def label_png(data: bytes) -> bytes:
    """Insert a tEXt `Comment` chunk with the label right after IHDR."""
    if not data.startswith(_PNG_SIG):
        raise ValueError("not a PNG")
    text = PNG_KEYWORD + b"\0" + ALTERED_MEDIA_LABEL.encode("latin-1")
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + text) & 0xFFFFFFFF)
    ihdr_end = len(_PNG_SIG) + 8 + struct.unpack(">I", data[8:12])[0] + 4
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def label_jpeg(data: bytes) -> bytes:
    """Insert a COM segment with the label right after SOI."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    text = ALTERED_MEDIA_LABEL.encode("utf-8")
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + data[2:]


def has_label(data: bytes) -> bool:
    return ALTERED_MEDIA_LABEL.encode("utf-8") in data


def add_label(data: bytes) -> bytes:
    """Label encoded image bytes of either format (already-labelled bytes are returned as is)."""
    if has_label(data):
        return data
    if data.startswith(_PNG_SIG):
        return label_png(data)
    if data.startswith(b"\xff\xd8"):
        return label_jpeg(data)
    raise ValueError("not a PNG or JPEG image")


def encode_image(image: np.ndarray, ext: str, jpeg_quality: int = 95) -> bytes:
    """Encode a uint8 BGR/BGRA image as `.png` or `.jpg` bytes carrying the label."""
    ext = ext.lower()
    if ext == ".png":
        ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    elif ext in (".jpg", ".jpeg"):
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    else:
        raise UserError(f"cannot write merged frames as {ext!r}; use png or jpg frames")
    if not ok:
        raise UserError(f"could not encode a merged frame as {ext}")
    return add_label(buf.tobytes())


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float 0..1 -> uint8 with rounding."""
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
