"""Which files in a folder are frames, and in what order: one answer for every step.

Frames are the images at the top of a folder (subfolders such as aligned/ and merged/ are never
frames; hidden and half-written `.name.tmp` files are skipped), png or jpg: what `video extract`
writes, what merge can write back with its altered-media label, and what ffmpeg assembles.
Play order: numbered names (DeepFaceLab's `00001.png`) by number, then any other names by name.
A folder that does not exist has no frames; the caller says which step makes them.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the formats `video extract` writes frames in (a `.jpeg` frame is read too)
FRAME_FORMATS = ("png", "jpg")
FRAME_EXTS = (".png", ".jpg", ".jpeg")


def list_frames(folder: str | os.PathLike) -> list[Path]:
    """The frame files directly in `folder`, in play order ([] when there is no such folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir()
             if p.is_file() and p.suffix.lower() in FRAME_EXTS and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (0, int(p.stem), p.name) if p.stem.isdigit()
                  else (1, 0, p.name))
