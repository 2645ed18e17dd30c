"""Reading frames robustly: unicode/space paths, damaged and truncated files (which files
are frames: app.frame_files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class BadFrame(Exception):
    """A frame file that cannot be used; the message says why (shown as one line)."""


def read_frame(path: Path) -> np.ndarray:
    """BGR uint8 image; BadFrame if missing, empty, undecodable or truncated."""
    import cv2

    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError as exc:
        raise BadFrame(f"cannot read ({exc.strerror})") from None
    if data.size == 0:
        raise BadFrame("empty file")
    if _truncated(data):
        raise BadFrame("truncated image (the file ends early); re-extract the frames")
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise BadFrame("not a readable image (damaged or unknown format)")
    return img


def _truncated(data: np.ndarray) -> bool:
    """JPEG without its end marker, PNG without IEND: decoders would return a half-grey image."""
    head = data[:8].tobytes()
    tail = data[-64:].tobytes()
    if head.startswith(b"\xff\xd8"):
        return b"\xff\xd9" not in tail
    if head.startswith(b"\x89PNG"):
        return b"IEND" not in tail
    return False
