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
        """--workspace flag, else $FACESTUDIO_WORKSPACE, else the bundled default workspace."""
        chosen = flag or os.environ.get(ENV_VAR) or default_root()
        return cls(Path(chosen).expanduser().resolve())

    def frames_dir(self, side: str) -> Path:
        return self.root / f"data_{_side(side)}"

    def aligned_dir(self, side: str) -> Path:
        return self.aligned_in(self.frames_dir(side))

    @staticmethod
    def aligned_in(frames_dir: Path) -> Path:
        """The aligned faces of any frames folder (`extract --frames DIR` too)."""
        return Path(frames_dir) / "aligned"

    @staticmethod
    def aligned_debug_in(frames_dir: Path) -> Path:
        """The extractor's debug frames of any frames folder."""
        return Path(frames_dir) / "aligned_debug"

    def aligned_confirmed_dir(self, side: str) -> Path:
        """Where the mask editor's E moves a face (DeepFaceLab's `aligned_confirmed`)."""
        return self.frames_dir(side) / "aligned_confirmed"

    def aligned_skipped_dir(self, side: str) -> Path:
        """Where the mask editor's W moves a face (DeepFaceLab's `aligned_skipped`)."""
        return self.frames_dir(side) / "aligned_skipped"

    @property
    def aligned_debug_dir(self) -> Path:
        return self.aligned_debug_in(self.frames_dir("dst"))

    @property
    def merged_dir(self) -> Path:
        return self.frames_dir("dst") / "merged"

    @property
    def merged_debug_dir(self) -> Path:
        """merge --debug: every stage of every frame, data_dst/merged_debug/<frame>/."""
        return self.frames_dir("dst") / "merged_debug"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

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
        return found[0]


def _side(side: str) -> str:
    if side not in ("src", "dst"):
        raise UserError(f"unknown side {side!r}: use src or dst")
    return side
