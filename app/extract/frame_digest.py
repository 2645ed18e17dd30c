"""A frame's fingerprint, stored in each face taken from it (`FaceMeta.source_digest`).

Resuming an extraction used to trust any face named after a frame: after `video extract dst
--overwrite` with another video, `extract dst` said "75 already done" and merge would have put
the new frames' faces where the old video's were. The fingerprint tells the frame a face came
from apart from a new frame of the same name.

It hashes the file's size and its first and last 64 KiB rather than all of it: a resume checks
every done frame, and reading 10,000 full-HD PNGs (30 GB) to start would take longer than the
work left. A re-encoded frame differs in those bytes (JPEG/PNG headers, entropy-coded data).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PREFIX = "fp1:"      # the scheme, so a later one can be told apart
CHUNK = 64 * 1024


def frame_digest(path: str | os.PathLike) -> str:
    """`fp1:` + 32 hex digits of sha256(size, first 64 KiB, last 64 KiB)."""
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(p, "rb") as f:
        h.update(f.read(CHUNK))
        if size > CHUNK:
            f.seek(max(CHUNK, size - CHUNK))
            h.update(f.read(CHUNK))
    return PREFIX + h.hexdigest()[:32]
