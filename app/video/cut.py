"""Cutting a time range out of a video (step 3): `NAME_cut.EXT` beside it, the original kept."""

from __future__ import annotations

import os
import re
from pathlib import Path

from app.errors import UserError
from app.fileio import atomic_path, remove_stale_temps_of
from app.video.ffmpeg import VideoInfo, label_args, probe, run_ffmpeg
from app.video.timecode import format_time

#: container -> (video codec args, audio codec args); each pair is one that container carries.
_CODECS: dict[str, tuple[list[str], list[str]]] = {
    ".mp4": (["-c:v", "libx264", "-pix_fmt", "yuv420p"], ["-c:a", "aac"]),
    ".m4v": (["-c:v", "libx264", "-pix_fmt", "yuv420p"], ["-c:a", "aac"]),
    ".mov": (["-c:v", "libx264", "-pix_fmt", "yuv420p"], ["-c:a", "aac"]),
    ".mkv": (["-c:v", "libx264", "-pix_fmt", "yuv420p"], ["-c:a", "aac"]),
    ".avi": (["-c:v", "mpeg4", "-vtag", "xvid"], ["-c:a", "libmp3lame"]),
    ".webm": (["-c:v", "libvpx", "-pix_fmt", "yuv420p"], ["-c:a", "libopus"]),
    ".mpg": (["-c:v", "mpeg2video", "-pix_fmt", "yuv420p"], ["-c:a", "mp2"]),
    ".mpeg": (["-c:v", "mpeg2video", "-pix_fmt", "yuv420p"], ["-c:a", "mp2"]),
}
#: even width and height, which yuv420p encoders require
EVEN = "pad=ceil(iw/2)*2:ceil(ih/2)*2"


def parse_bitrate(text: str | int | float) -> str:
    """`25` (megabits/s, DeepFaceLab's unit), `25M` or `8000k` -> ffmpeg's `25M` form."""
    s = str(text).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmM]?)(?:b(?:it)?/?s?)?", s)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"bitrate {s!r}: give megabits per second, e.g. 25 or 25M or 8000k")
    return m.group(1) + (m.group(2).upper() if m.group(2) else "M")


def cut_path(video: Path) -> Path:
    """`NAME_cut.EXT`; containers the app cannot write again become `NAME_cut.mp4`."""
    ext = video.suffix.lower() if video.suffix.lower() in _CODECS else ".mp4"
    return video.with_name(f"{video.stem}_cut{ext}")


def check_range(info: VideoInfo, start: float, end: float | None) -> float:
    """The end time to use; a UserError naming the file when the range is outside the video."""
    duration = info.duration
    if end is None:
        if duration is None:
            raise UserError("ffmpeg reports no duration for it: give the end time", info.path)
        end = duration
    if start < 0:
        raise UserError(f"start time {format_time(start)} is negative", info.path)
    if duration is not None and start >= duration:
        raise UserError(f"start time {format_time(start)} is outside the video, which lasts "
                        f"{format_time(duration)}", info.path)
    if end <= start:
        raise UserError(f"the range {format_time(start)} -> {format_time(end)} is empty: the "
                        "end must come after the start", info.path)
    if duration is not None:
        slack = 1.0 / info.fps  # the container duration is rounded to 10 ms
        if end > duration + slack:
            raise UserError(f"the range {format_time(start)} -> {format_time(end)} is outside the "
                            f"video, which lasts {format_time(duration)}", info.path)
        end = min(end, duration)
    return end


def cut(video: str | os.PathLike, start: float = 0.0, end: float | None = None,
        audio_track: int = 0, bitrate: str = "25M", out_path: str | os.PathLike | None = None,
        *, progress: bool = True) -> Path:
    """Re-encode `video` from `start` to `end` seconds with audio track `audio_track`.

    Re-encoding (not stream copy) makes the cut frame-accurate at both ends. The result is
    written to a temporary name and renamed, so an interrupted cut leaves no half file.
    """
    src = Path(video)
    info = probe(src)
    end = check_range(info, start, end)
    if info.audio_streams and not 0 <= audio_track < len(info.audio_streams):
        raise UserError(f"audio track {audio_track} does not exist; it has "
                        f"{len(info.audio_streams)} audio track(s), ids 0.."
                        f"{len(info.audio_streams) - 1}", src)
    out = Path(out_path) if out_path else cut_path(src)
    if out.resolve() == src.resolve():
        raise UserError("the cut would overwrite the original: choose another output name", out)
    vcodec, acodec = _CODECS.get(out.suffix.lower(), _CODECS[".mp4"])
    audio = (["-map", f"0:a:{audio_track}", *acodec] if info.audio_streams else ["-an"])
    length = end - start
    remove_stale_temps_of(out)
    with atomic_path(out) as tmp:
        run_ffmpeg(["-ss", f"{start:.3f}", "-i", str(src), "-t", f"{length:.3f}",
                    "-map", "0:v:0", *vcodec, "-b:v", parse_bitrate(bitrate), "-vf", EVEN,
                    *audio, "-sn", "-dn", "-map_chapters", "-1", *label_args(out), str(tmp)],
                   blame=src, total=round(length * info.fps), desc=f"cut {src.name}",
                   progress=progress)
    return out
