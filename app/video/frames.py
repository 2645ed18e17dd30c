"""Frame folders: extracting a video into numbered frames and reading a numbered sequence back.

Frames are named `00001.png`, `00002.png`, ... (DeepFaceLab's numbering), so name order is play
order. Only the image files at the top of a folder are frames; subfolders (aligned/, merged/)
are never touched here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserError
from app.frame_files import FRAME_FORMATS, list_frames
from app.video.ffmpeg import probe, run_ffmpeg

DIGITS = 5
#: zlib level 3: 3x faster than ffmpeg's default for 7 % larger frames (bench/video.py)
PNG_FAST = ["-compression_level", "3"]


@dataclass(frozen=True)
class Sequence:
    """A folder of frames ffmpeg can read as one image2 sequence (`%05d.png`)."""
    folder: Path
    frames: list[Path]
    start: int
    digits: int
    ext: str

    @property
    def pattern(self) -> str:
        return str(self.folder / f"%0{self.digits}d{self.ext}")

    def input_args(self, fps: str) -> list[str]:
        return ["-framerate", fps, "-start_number", str(self.start), "-i", self.pattern]


def read_sequence(folder: str | os.PathLike, what: str = "frames") -> Sequence:
    """The numbered frames in `folder`; a UserError naming what is missing or mixed."""
    folder = Path(folder)
    frames = list_frames(folder)
    if not frames:
        raise UserError(f"no {what} found (expected 00001.png, 00002.png, ... or .jpg). "
                        "Run the step that makes them first", folder)
    exts = {p.suffix for p in frames}
    if len(exts) > 1:
        raise UserError(f"mixed frame types {sorted(exts)}: keep one kind (delete or move the "
                        "others)", folder)
    bad = next((p for p in frames if not p.stem.isdigit()), None)
    if bad is not None:
        raise UserError(f"{bad.name} is not a numbered frame: frames must be named like 00001"
                        f"{bad.suffix}; move other images out of the folder", folder)
    digits = len(frames[0].stem)
    numbers = [int(p.stem) for p in frames]
    for expected, (number, p) in enumerate(zip(numbers, frames), start=numbers[0]):
        if number != expected or (len(p.stem) != digits and number < 10 ** digits):
            missing = f"{expected:0{digits}d}{frames[0].suffix}"
            raise UserError(f"frame {missing} is missing (frames must be numbered without "
                            "gaps): redo the step that writes them", folder)
    return Sequence(folder, frames, numbers[0], digits, frames[0].suffix)


def image_is_complete(path: str | os.PathLike) -> bool:
    """True when `path` is a whole PNG or JPEG: its signature at the start and its end marker
    at the end. A 0-byte, cut-off (a killed write of another tool, a full disk) or foreign file
    is not. Reads 20 bytes, not the image, so checking thousands of frames takes a moment."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            f.seek(max(0, size - 12))
            tail = f.read(12)
    except OSError:
        return False
    if head == b"\x89PNG\r\n\x1a\n":
        return tail.endswith(b"IEND\xaeB`\x82")
    return head[:2] == b"\xff\xd8" and b"\xff\xd9" in tail


def read_whole_sequence(folder: str | os.PathLike, what: str, remedy: str) -> Sequence:
    """`read_sequence`, then every frame checked whole: ffmpeg would stop at the first damaged
    one and write a short video as if all went well."""
    seq = read_sequence(folder, what)
    bad = [p.name for p in seq.frames if not image_is_complete(p)]
    if bad:
        shown = ", ".join(bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise UserError(f"{len(bad)} of the {len(seq.frames)} {what} are empty or damaged "
                        f"({shown}); {remedy}", seq.folder)
    return seq


def extract_frames(video: str | os.PathLike, out_dir: str | os.PathLike, fps: float | None = None,
                   ext: str = "png", *, progress: bool = True) -> int:
    """Decode `video` into `out_dir/00001.<ext>`...; returns the number of frames written.

    `fps=None` keeps every frame (full FPS, what dst needs). Frames go to a hidden temporary
    folder first and replace the old frames only once ffmpeg has finished, so a bad video or
    an interrupt leaves the existing frames as they were. Subfolders are never touched.
    """
    ext = ext.lower().lstrip(".")
    if ext not in FRAME_FORMATS:
        raise UserError(f"frame format {ext!r} is not supported: use png or jpg")
    if fps is not None and fps <= 0:
        raise UserError(f"FPS must be positive, not {fps}")
    info = probe(video)
    if fps is not None and fps >= info.fps - 1e-3:
        fps = None  # asking for more than the video has would only duplicate frames
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = fresh_work_dir(out, ".extracting-")
    try:
        rate = ["-vf", f"fps={fps}"] if fps else ["-fps_mode", "passthrough"]
        quality = ["-q:v", "2"] if ext == "jpg" else ["-pix_fmt", "rgb24", *PNG_FAST]
        total = info.frame_count_estimate
        if fps and total is not None:
            total = round(total * fps / info.fps)
        run_ffmpeg(["-i", str(video), "-map", "0:v:0", "-an", "-sn", *rate, *quality,
                    "-start_number", "1", str(tmp / f"%0{DIGITS}d.{ext}")],
                   blame=video, total=total, desc=f"extract {Path(video).name}",
                   progress=progress)
        new = list_frames(tmp)
        if not new:
            raise UserError("ffmpeg decoded no frames from it: the video may be damaged", video)
        _replace_frames(out, new)
        return len(new)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fresh_work_dir(folder: Path, prefix: str) -> Path:
    """A new hidden work folder in `folder`, after removing ones a killed run left behind."""
    for stale in folder.glob(prefix + "*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=folder))


def _replace_frames(out: Path, new: list[Path]) -> None:
    """Move new frames in (each rename atomic), then drop old frames the new set lacks."""
    names = {p.name for p in new}
    old = [p for p in list_frames(out) if p.name not in names]
    for p in new:
        os.replace(p, out / p.name)
    for p in old:
        p.unlink()
