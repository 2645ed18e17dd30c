"""`faceset import-dfl`: a folder of DeepFaceLab aligned faces -> our face files, side by side.

Each face keeps its image bytes (no re-encode: DFL's metadata segment or chunk is cut out and
ours put in) and gets our metadata from DFL's (app.faceset.dfl_face). Nothing in the source
folder changes; a file that cannot be imported is listed with its reason and the next goes on.
A file that already is one of ours is copied as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.errors import UserError
from app.faceset import face_file as ff
from app.faceset.dfl_face import DflFaceError, dfl_to_meta, read_dfl_dict, split_dfl
from app.fileio import atomic_write_bytes


@dataclass
class ImportReport:
    """What an import did: files written, ours copied, failures (path, reason), other files."""

    target: Path
    imported: list[Path] = field(default_factory=list)
    copied: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    ignored: int = 0

    def summary(self) -> str:
        line = (f"imported {len(self.imported)} DeepFaceLab faces into {self.target}"
                + (f", copied {len(self.copied)} that already were FaceStudio faces"
                   if self.copied else "")
                + (f"; {len(self.failed)} not imported (listed above)" if self.failed else "")
                + (f"; {self.ignored} files that are not images left alone" if self.ignored
                   else ""))
        return line


def default_target(source: Path) -> Path:
    """Where an import goes without --to: a sibling folder, so the source is never touched."""
    return source.parent / f"{source.name}_facestudio"


def import_dfl_folder(source: str | Path, target: str | Path | None = None) -> ImportReport:
    """Convert every DFL face in `source` into `target` (default: `default_target`)."""
    source = Path(source)
    if not source.is_dir():
        raise UserError("folder of DeepFaceLab faces not found", source)
    target = Path(target) if target is not None else default_target(source)
    if target.resolve() == source.resolve():
        raise UserError("--to must be another folder: the import never changes the source "
                        "folder", target)
    report = ImportReport(target)
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        if path.suffix.lower() not in ff.FACE_EXTS or path.name.startswith("."):
            report.ignored += 1
            continue
        try:
            data, ours = convert_file(path, target / path.name)
        except ff.FaceFileError as exc:
            report.failed.append((path, str(exc)))
            continue
        atomic_write_bytes(target / path.name, data)
        (report.copied if ours else report.imported).append(target / path.name)
    return report


def convert_file(path: Path, out_path: Path) -> tuple[bytes, bool]:
    """(bytes of our face file, whether `path` already was ours); FaceFileError otherwise."""
    data = _read(path)
    try:
        image, pickled = split_dfl(data, path)
    except DflFaceError as exc:
        if "already a FaceStudio face" not in str(exc):
            raise
        ff.read_face(path)  # ours, but check that it reads before copying it
        return data, True
    dfl = read_dfl_dict(pickled, path)
    decoded = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None or decoded.size == 0:
        raise DflFaceError("the image data is damaged (cannot decode)", path)
    meta = dfl_to_meta(dfl, (decoded.shape[1], decoded.shape[0]), path)
    meta = ff.FaceMeta.from_dict(meta.to_dict(), path)  # never write what would not read back
    return ff.embed_meta(image, meta, out_path), False


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ff.FaceFileError(f"cannot read ({exc.strerror})", path) from None
