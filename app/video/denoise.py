"""Denoising extracted frames in place (step 3), as DeepFaceLab does with ffmpeg's hqdn3d.

hqdn3d is a spatio-temporal filter: it averages a pixel with its neighbours in space and with
the same pixel in the previous frames, weighted down where they differ a lot, so flat noisy
areas are smoothed while edges and motion stay sharp. The whole sequence goes through one
ffmpeg run (the temporal part needs the frames in order) into a hidden folder; only when every
frame is written is each one renamed over its original (an atomic rename per frame), so an
interrupt or a failure never leaves a damaged or missing frame.
"""

from __future__ import annotations

import os
import shutil

from app.errors import UserError
from app.video.frames import PNG_FAST, fresh_work_dir, list_frames, read_sequence
from app.video.ffmpeg import run_ffmpeg

FACTOR_RANGE = (1, 20)


def hqdn3d_filter(factor: float) -> str:
    """DeepFaceLab's setting: spatial strength = factor (luma and chroma), temporal = 5."""
    return f"hqdn3d={factor}:{factor}:5:5"


def denoise_frames(frames_dir: str | os.PathLike, factor: float = 5, *,
                   progress: bool = True) -> int:
    """Denoise the numbered frames of `frames_dir` in place; returns how many were replaced."""
    lo, hi = FACTOR_RANGE
    if not lo <= factor <= hi:
        raise UserError(f"denoise factor {factor} is outside {lo}..{hi}")
    seq = read_sequence(frames_dir, "frames to denoise")
    tmp = fresh_work_dir(seq.folder, ".denoising-")
    try:
        # hqdn3d works on YUV: convert at 4:4:4 so no colour resolution is lost on the way.
        quality = ["-q:v", "2"] if seq.ext.lower() in (".jpg", ".jpeg") else PNG_FAST
        run_ffmpeg([*seq.input_args("25"), "-vf", f"format=yuv444p,{hqdn3d_filter(factor)}",
                    "-sws_flags", "accurate_rnd+full_chroma_int", "-fps_mode", "passthrough",
                    *quality, "-start_number", str(seq.start),
                    str(tmp / f"%0{seq.digits}d{seq.ext}")],
                   blame=seq.folder, total=len(seq.frames), desc="denoise", progress=progress)
        done = {p.name: p for p in list_frames(tmp)}
        missing = [p.name for p in seq.frames if p.name not in done]
        if missing:
            raise UserError(f"ffmpeg wrote no denoised {missing[0]} ({len(missing)} missing); "
                            "the frames were left as they were", seq.folder)
        for p in seq.frames:
            os.replace(done[p.name], p)
        return len(seq.frames)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
