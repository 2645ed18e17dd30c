"""Creating and emptying a workspace (step 1). Videos placed by the user are never touched."""

from __future__ import annotations

import shutil

from app.workspace import Workspace


def workspace_has_content(ws: Workspace) -> bool:
    """True when clearing would delete something (frames, faces, merged frames, model files)."""
    for folder in ws.all_dirs():
        if folder.is_dir() and any(p.is_file() for p in folder.rglob("*")):
            return True
    return False


def content_summary(ws: Workspace) -> list[str]:
    """One line per generated folder that holds files, e.g. `data_src/aligned: 120 files`.

    Shown before the confirmation so the user sees what a yes would delete.
    """
    lines = []
    for folder in ws.all_dirs():
        if not folder.is_dir():
            continue
        count = sum(1 for p in folder.iterdir() if p.is_file())
        if folder == ws.model_dir:
            count = sum(1 for p in folder.rglob("*") if p.is_file())
        if count:
            lines.append(f"{folder.relative_to(ws.root).as_posix()}: {count} files")
    return lines


def clear_workspace(ws: Workspace) -> None:
    """Empty the generated folders and recreate them; `data_src.*`/`data_dst.*` videos stay."""
    ws.root.mkdir(parents=True, exist_ok=True)
    for top in (ws.frames_dir("src"), ws.frames_dir("dst"), ws.model_dir):
        if top.exists():
            shutil.rmtree(top)
    for folder in ws.all_dirs():
        folder.mkdir(parents=True, exist_ok=True)
