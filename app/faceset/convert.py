"""`faceset convert --to jpg|png`: re-encode a face set, keeping each face's metadata.

DeepFaceLab's "convert PNG to JPG" (and back): the pixels are decoded and written in the other
container with the same metadata (and the altered-media label). JPG is written at quality 100,
as DeepFaceLab did; PNG is lossless. The new file is written before the old one is removed, so an
interrupted run loses nothing; a face whose new name is already taken is left as it is.
"""

from __future__ import annotations

from pathlib import Path

from app.errors import UserError
from app.faceset.face_file import FaceFileError, list_faces, read_face, write_face

FORMATS = {"jpg": (".jpg", ".jpeg"), "png": (".png",)}


def convert_faceset(folder: Path, to: str, quality: int = 100) -> str:
    """Convert the faces of `folder` that are not already `to` (jpg or png)."""
    if to not in FORMATS:
        raise UserError(f"--to {to!r}: use jpg or png")
    folder = Path(folder)
    paths = list_faces(folder)
    if not paths:
        raise UserError("no face files here; run `python -m app extract` first", folder)
    done, kept, bad = 0, 0, 0
    for path in paths:
        if path.suffix.lower() in FORMATS[to]:
            continue
        target = path.with_suffix("." + to)
        if target.exists():
            print(f"kept {path.name}: {target.name} already exists")
            kept += 1
            continue
        try:
            image, meta = read_face(path)
        except FaceFileError as exc:
            print(f"skipped: {exc}")
            bad += 1
            continue
        write_face(target, image, meta, quality=quality)
        path.unlink()
        done += 1
    text = f"converted {done} faces to {to} in {folder}"
    if kept:
        text += f"; {kept} left as they were (name taken)"
    if bad:
        text += f"; {bad} unreadable files skipped"
    return text
