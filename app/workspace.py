"""Where a workspace's files live (DESIGN.md "The pipeline"), and how one is chosen.

Every step takes a `Workspace` and reads paths from it, so the folder layout is written once.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserError

ENV_VAR = "FACESTUDIO_WORKSPACE"
#: the two sides of a swap: the source face (src) goes onto the destination video (dst)
SIDES = ("src", "dst")
VIDEO_EXTS = (".mp4", ".mkv", ".avi", ".mov", ".mpg", ".mpeg", ".webm", ".m4v", ".wmv", ".flv")


def app_root() -> Path:
    """The folder holding `app/` (a clone) or `facestudio/` (an unzipped portable build)."""
    if getattr(sys, "frozen", False):  # PyInstaller: <root>/facestudio/facestudio[.exe]
        return Path(sys.executable).resolve().parent.parent
    return Path(__file__).resolve().parent.parent


def default_root() -> Path:
    """`workspace/` beside the app (works from a clone and from an unzipped portable folder)."""
    return app_root() / "workspace"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, flag: str | None = None) -> "Workspace":
        """--workspace flag, else $FACESTUDIO_WORKSPACE, else the bundled default workspace.

        An empty value is an error, not the default: a script whose variable came out empty
        would otherwise work in (and `workspace clear` empty) the wrong folder."""
        env = os.environ.get(ENV_VAR)
        if flag is not None and not flag.strip():
            raise UserError("--workspace is empty: give the workspace folder, e.g. --workspace "
                            "workspace")
        if flag is None and env is not None and not env.strip():
            raise UserError(f"${ENV_VAR} is set but empty: set it to the workspace folder or "
                            "unset it (then ./workspace beside the app is used)")
        root = Path(flag or env or default_root()).expanduser().resolve()
        return cls(folder(root, "the workspace"))

    def frames_dir(self, side: str) -> Path:
        return folder(self.root / f"data_{_side(side)}")

    def aligned_dir(self, side: str) -> Path:
        return self.aligned_in(self.frames_dir(side))

    @staticmethod
    def aligned_in(frames_dir: Path) -> Path:
        """The aligned faces of any frames folder (`extract --frames DIR` too)."""
        return folder(Path(frames_dir) / "aligned")

    @staticmethod
    def aligned_debug_in(frames_dir: Path) -> Path:
        """The extractor's debug frames of any frames folder."""
        return folder(Path(frames_dir) / "aligned_debug")

    def aligned_confirmed_dir(self, side: str) -> Path:
        """Where the mask editor's E moves a face (DeepFaceLab's `aligned_confirmed`)."""
        return folder(self.frames_dir(side) / "aligned_confirmed")

    def aligned_skipped_dir(self, side: str) -> Path:
        """Where the mask editor's W moves a face (DeepFaceLab's `aligned_skipped`)."""
        return folder(self.frames_dir(side) / "aligned_skipped")

    @property
    def aligned_debug_dir(self) -> Path:
        return self.aligned_debug_in(self.frames_dir("dst"))

    @property
    def merged_dir(self) -> Path:
        return folder(self.frames_dir("dst") / "merged")

    @property
    def merged_debug_dir(self) -> Path:
        """merge --debug: every stage of every frame, data_dst/merged_debug/<frame>/."""
        return folder(self.frames_dir("dst") / "merged_debug")

    @property
    def model_dir(self) -> Path:
        return folder(self.root / "model")

    def all_dirs(self) -> list[Path]:
        return [self.frames_dir("src"), self.aligned_dir("src"), self.frames_dir("dst"),
                self.aligned_dir("dst"), self.aligned_debug_dir, self.merged_dir, self.model_dir]

    def video(self, side: str) -> Path:
        """The `data_src.*` / `data_dst.*` video; a clear error when there is none."""
        stem = f"data_{_side(side)}"
        found = sorted(p for p in self.root.glob(stem + ".*")
                       if p.suffix.lower() in VIDEO_EXTS and p.is_file())
        if not found:
            raise UserError(f"no {stem} video found (expected {stem}.mp4 or another video "
                            f"extension). Put the {side} video there.", self.root)
        if len(found) > 1:   # taking one silently extracted the wrong video
            raise UserError(f"several {stem} videos ({', '.join(p.name for p in found)}): keep "
                            f"the {side} video you mean and rename or move the others", self.root)
        return found[0]


def folder(path: Path, what: str = "") -> Path:
    """`path`, after checking it is not a file where a folder belongs (a UserError before any
    work starts, instead of NotADirectoryError once it has)."""
    if path.exists() and not path.is_dir():
        hint = (f"; if it is the {path.name} video, give it its extension ({path.name}.mp4)"
                if path.name in ("data_src", "data_dst") else "")
        raise UserError(f"is a file, but {what or 'a folder'} is expected here: move or rename "
                        f"it{hint}", path)
    return path


def _side(side: str) -> str:
    if side not in SIDES:
        raise UserError(f"unknown side {side!r}: use src or dst")
    return side
