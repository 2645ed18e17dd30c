"""Merged frames back into a video (step 8), at the dst FPS with the dst audio.

Formats as in DeepFaceLab: `mp4` (H.264), `avi` (MPEG-4 part 2 / Xvid), and two lossless ones
that keep the merged frames' alpha channel for compositing in Vegas or After Effects:
`mp4_alpha` (PNG frames in an mp4, what DeepFaceLab's "mp4 lossless" wrote) and `mov_alpha`
(QuickTime Animation / qtrle, ARGB). Every result carries the altered-media label.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserError
from app.fileio import atomic_path, remove_stale_temps_of
from app.video.cut import EVEN, parse_bitrate
from app.video.ffmpeg import exact_rate, label_args, probe, run_ffmpeg
from app.video.frames import read_whole_sequence

#: what to do about damaged merged frames (merge redoes them)
MERGE_AGAIN = "run merge again: it redoes them"


@dataclass(frozen=True)
class Format:
    ext: str
    video: tuple[str, ...]
    audio: tuple[str, ...]
    lossless: bool
    help: str


FORMATS: dict[str, Format] = {
    "mp4": Format(".mp4", ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-vf", EVEN),
                  ("-c:a", "aac", "-b:a", "192k"), False, "H.264, plays everywhere"),
    "avi": Format(".avi", ("-c:v", "mpeg4", "-vtag", "xvid", "-pix_fmt", "yuv420p", "-vf", EVEN),
                  ("-c:a", "libmp3lame", "-b:a", "192k"), False, "MPEG-4 (Xvid) for old players"),
    "mp4_alpha": Format(".mp4", ("-c:v", "png", "-pix_fmt", "rgba"),
                        ("-c:a", "aac", "-b:a", "192k"), True,
                        "lossless PNG frames with alpha in mp4 (large)"),
    "mov_alpha": Format(".mov", ("-c:v", "qtrle", "-pix_fmt", "argb"), ("-c:a", "pcm_s16le"),
                        True, "lossless QuickTime Animation with alpha, for Vegas/After Effects"),
}


def result_path(root: str | os.PathLike, fmt: str) -> Path:
    """`<root>/result.<ext>` for a format name."""
    return Path(root) / ("result" + _format(fmt).ext)


def assemble(frames_dir: str | os.PathLike, out_path: str | os.PathLike, fps: float | str,
             audio_from: str | os.PathLike | None = None, fmt: str = "mp4",
             bitrate: str = "16M", *, audio_track: int = 0, progress: bool = True) -> Path:
    """Encode the numbered frames of `frames_dir` into `out_path` and return its path.

    `fps` is a number or an ffmpeg rational ("30000/1001"); pass the dst video's. The audio
    track `audio_track` of `audio_from` is muxed in, cut to the video's length. The suffix of
    `out_path` is set to the format's container. Written under a temporary name and renamed.
    """
    spec = _format(fmt)
    out = Path(out_path).with_suffix(spec.ext)
    if out.is_dir():   # found before encoding the whole video, not after
        raise UserError("is a folder, but the result video is written here: move it away or "
                        "give another --output", out)
    seq = read_whole_sequence(frames_dir, "merged frames", MERGE_AGAIN)
    rate = fps if isinstance(fps, str) else exact_rate(float(fps))
    seconds = len(seq.frames) / _as_float(rate)
    audio_in: list[str] = []
    audio_map: list[str] = ["-an"]
    if audio_from is not None:
        info = probe(audio_from)
        if info.audio_streams:
            if not 0 <= audio_track < len(info.audio_streams):
                raise UserError(f"audio track {audio_track} does not exist; ids are 0.."
                                f"{len(info.audio_streams) - 1}", audio_from)
            audio_in = ["-t", f"{seconds:.3f}", "-i", str(audio_from)]
            audio_map = ["-map", f"1:a:{audio_track}", *spec.audio]
    quality = [] if spec.lossless else ["-b:v", parse_bitrate(bitrate)]
    remove_stale_temps_of(out)   # a killed encode's temporary, as big as the video
    with atomic_path(out) as tmp:
        run_ffmpeg([*seq.input_args(rate), *audio_in, "-map", "0:v:0", *spec.video, *quality,
                    "-r", rate, *audio_map, *label_args(out), str(tmp)],
                   blame=seq.folder, total=len(seq.frames), desc=f"assemble {out.name}",
                   progress=progress)
    return out


def _format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise UserError(f"unknown output format {fmt!r}: use one of {', '.join(FORMATS)}")
    return FORMATS[fmt]


def _as_float(rate: str) -> float:
    num, _, den = rate.partition("/")
    try:
        value = float(num) / (float(den) if den else 1.0)
    except ValueError:
        raise UserError(f"FPS {rate!r} is not a number") from None
    if value <= 0:
        raise UserError(f"FPS must be positive, not {rate}")
    return value
