"""Faces taken out of a set go to the sibling `aligned_trash` folder, never deleted: the user can
look there and move them back (DeepFaceLab's convention)."""

from __future__ import annotations

import shutil
from pathlib import Path


def trash_dir(folder: Path) -> Path:
    return Path(folder).parent / "aligned_trash"


def move_to_trash(paths: list[Path], folder: Path) -> Path:
    """Move `paths` (faces of `folder`) into aligned_trash, renaming on clashes; returns it."""
    trash = trash_dir(folder)
    trash.mkdir(exist_ok=True)
    for path in paths:
        target = trash / path.name
        k = 1
        while target.exists():
            target = trash / f"{path.stem}_{k}{path.suffix}"
            k += 1
        shutil.move(str(path), str(target))
    return trash
