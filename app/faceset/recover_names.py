"""`faceset recover-names`: rename each face back to `<source frame stem>_<i>` from its metadata.

DeepFaceLab's "recover original filename": after sorting (00000.jpg, ...) the names no longer
say which frame a face came from; the metadata still does (`source_filename`). Faces of the same
frame are numbered 0, 1, ... in their current order. Renaming goes through temporary names, so
no file is overwritten; a name already taken by a file that is not part of the set is skipped
over (that face keeps a free `_<i>`).
"""

from __future__ import annotations

from pathlib import Path

from app.errors import UserError
from app.faceset.face_file import FaceFileError, list_faces, read_meta


def recovered_names(paths: list[Path]) -> tuple[dict[Path, str], list[Path]]:
    """({face path: new name}, unreadable paths); new names `<source stem>_<i><ext>`."""
    names: dict[Path, str] = {}
    bad: list[Path] = []
    count: dict[str, int] = {}
    for path in paths:
        try:
            stem = Path(read_meta(path).source_filename).stem
        except FaceFileError:
            bad.append(path)
            continue
        i = count.get(stem, 0)
        count[stem] = i + 1
        names[path] = f"{stem}_{i}{path.suffix.lower()}"
    return names, bad


def recover_names(folder: Path) -> str:
    """Rename the faces of `folder` after their source frames; returns a summary line."""
    folder = Path(folder)
    paths = list_faces(folder)
    if not paths:
        raise UserError("no face files here; run `python -m app extract` first", folder)
    names, bad = recovered_names(paths)
    taken = {p.name for p in bad}
    temps = []
    for i, (path, new) in enumerate(names.items()):
        tmp = folder / f"recovering_{i:06d}_{path.name}"  # visible: a rerun finishes the job
        path.rename(tmp)
        temps.append((tmp, new))
    renamed = 0
    for tmp, new in temps:
        target = folder / _free(new, taken)
        taken.add(target.name)
        tmp.rename(target)
        renamed += 1
    text = f"recovered the source names of {renamed} faces in {folder}"
    if bad:
        text += f"; {len(bad)} files without face metadata left as they were"
    return text


def _free(name: str, taken: set[str]) -> str:
    """`name`, or the next `<stem>_<i>` with a larger i when a foreign file holds it."""
    if name not in taken:
        return name
    stem, _, idx = Path(name).stem.rpartition("_")
    suffix = Path(name).suffix
    i = int(idx) + 1
    while f"{stem}_{i}{suffix}" in taken:
        i += 1
    return f"{stem}_{i}{suffix}"
