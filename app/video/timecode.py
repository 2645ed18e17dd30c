"""Times as users type them (`00:01:02.500`, `1:02.5`, `62.5`) and as ffmpeg takes them."""

from __future__ import annotations

import re

_TIME = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?)$")


def parse_time(text: str) -> float:
    """Seconds from `HH:MM:SS.mmm`, `MM:SS.mmm` or `SS.mmm`; ValueError on anything else."""
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError("use HH:MM:SS.mmm, e.g. 00:00:01.500")
    hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2) or 0), float(m.group(3))
    if (m.group(2) is not None and seconds >= 60) or (m.group(1) is not None and minutes >= 60):
        raise ValueError("minutes and seconds go up to 59")
    return hours * 3600 + minutes * 60 + seconds


def format_time(seconds: float) -> str:
    """`HH:MM:SS.mmm`, the form DeepFaceLab's questions show."""
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h:02d}:{m:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
