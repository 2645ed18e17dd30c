"""Decoding one frame or the audio of a file straight into numpy, through an ffmpeg pipe.

A test helper: it checks results (alpha kept, audio carried over) without OpenCV's own video
backend, which may lack codecs such as qtrle or png-in-mp4.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.video.ffmpeg import check_readable, ffmpeg_exe, probe


def _pipe(args: list[str], blame: str | os.PathLike) -> bytes:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
                           *args], stdin=subprocess.DEVNULL, capture_output=True)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UserError(f"ffmpeg could not decode it: {msg[-1] if msg else proc.returncode}",
                        blame)
    return proc.stdout


def read_frame_rgba(path: str | os.PathLike, index: int = 0) -> np.ndarray:
    """Frame `index` (0-based) of the first video stream as uint8 RGBA [h, w, 4].

    Formats without alpha decode with alpha 255 everywhere.
    """
    info = probe(path)
    data = _pipe(["-i", str(path), "-map", "0:v:0", "-vf", f"select=eq(n\\,{index})",
                  "-fps_mode", "passthrough", "-frames:v", "1", "-f", "rawvideo",
                  "-pix_fmt", "rgba", "-"], path)
    size = info.width * info.height * 4
    if len(data) < size:
        raise UserError(f"has no frame {index}", path)
    return np.frombuffer(data[:size], np.uint8).reshape(info.height, info.width, 4)


def read_audio(path: str | os.PathLike, track: int = 0, rate: int = 8000) -> np.ndarray:
    """Audio track `track` mixed to mono float32 at `rate` Hz."""
    check_readable(Path(path))
    data = _pipe(["-i", str(path), "-map", f"0:a:{track}", "-ac", "1", "-ar", str(rate),
                  "-f", "s16le", "-"], path)
    return np.frombuffer(data, np.int16).astype(np.float32) / 32768.0
