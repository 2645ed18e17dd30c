"""Finding ffmpeg, probing a video without ffprobe, and running ffmpeg with a progress bar.

ffmpeg comes from `imageio-ffmpeg` (a static binary inside a wheel: works offline and goes into
the portable builds). `$FACESTUDIO_FFMPEG` picks another one: a path, or `system` for the
`ffmpeg` on PATH. ffprobe is not shipped by imageio-ffmpeg, so `probe` parses the stream listing
that `ffmpeg -i FILE` prints on stderr.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from app import ALTERED_MEDIA_LABEL
from app.child_processes import die_with_parent
from app.errors import UserError, working_on

ENV_VAR = "FACESTUDIO_FFMPEG"


def ffmpeg_exe() -> str:
    """The ffmpeg to run: `$FACESTUDIO_FFMPEG` (a path or `system`), else imageio-ffmpeg's."""
    chosen = os.environ.get(ENV_VAR, "").strip()
    if chosen:
        if chosen.lower() == "system":
            found = shutil.which("ffmpeg")
            if not found:
                raise UserError(f"{ENV_VAR}=system but no ffmpeg is on PATH: install ffmpeg or "
                                f"unset {ENV_VAR} to use the bundled one")
            return found
        if not Path(chosen).is_file():
            raise UserError(f"ffmpeg not found there (set by {ENV_VAR} or --ffmpeg): give the "
                            "path of an ffmpeg executable, or unset it to use the bundled one",
                            chosen)
        if not os.access(chosen, os.X_OK):   # else Popen's EACCES read as "cannot write here"
            raise UserError(f"this ffmpeg is not executable (set by {ENV_VAR} or --ffmpeg): "
                            f"make it executable (chmod +x) or give another", chosen)
        return chosen
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise UserError(f"no bundled ffmpeg ({exc}). Reinstall with `pip install -r "
                        f"requirements.txt`, or set {ENV_VAR} to an ffmpeg executable") from None


# --------------------------------------------------------------------------------------- probe

@dataclass(frozen=True)
class AudioStream:
    index: int          # stream index in the file (`-map 0:<index>`)
    audio_index: int    # position among the audio streams: the "audio track id" (`0:a:<id>`)
    codec: str
    sample_rate: int | None
    channels: int | None
    language: str | None = None


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    container: str
    duration: float | None      # container duration in seconds (longest stream)
    fps: float
    fps_exact: str              # rational for ffmpeg arguments, e.g. "30000/1001"
    width: int
    height: int
    video_codec: str
    pix_fmt: str
    video_start: float          # start time of the video stream in seconds
    audio_streams: list[AudioStream] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)   # container metadata, keys lowercased

    @property
    def frame_count_estimate(self) -> int | None:
        """Frames expected from the durations ffmpeg reports (can be off by one or two)."""
        if self.duration is None:
            return None
        return max(0, int((self.duration - self.video_start) * self.fps + 0.5))

    @property
    def has_alpha(self) -> bool:
        return any(k in self.pix_fmt for k in ("rgba", "argb", "bgra", "abgr", "yuva", "gbrap",
                                               "ya8", "ya16"))


def probe(path: str | os.PathLike) -> VideoInfo:
    """What ffmpeg sees in a video file; a UserError naming the file if it is not a video."""
    p = Path(path)
    check_readable(p)
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(p)],
                          stdin=subprocess.DEVNULL, capture_output=True)
    text = proc.stderr.decode("utf-8", errors="replace")
    return parse_probe(text, p)


def check_readable(p: Path) -> None:
    if not p.exists():
        raise UserError("file not found: check the name, or put the video there", p)
    if p.is_dir():
        raise UserError("is a folder, not a video file", p)
    if not os.access(p, os.R_OK):
        raise UserError("cannot be read (permission denied): fix its permissions", p)
    if p.stat().st_size == 0:
        raise UserError("is empty (0 bytes): copy the video again", p)


_DURATION = re.compile(r"^\s*Duration: (N/A|(\d+):(\d+):(\d+(?:\.\d+)?))", re.M)
_STREAM = re.compile(r"^\s*Stream #0:(\d+)(?:\[\w+\])?(?:\((\w+)\))?: (\w+): (.*)$", re.M)
_SIZE = re.compile(r"\b(\d{1,5})x(\d{1,5})\b")
_NUM = r"(\d+(?:\.\d+)?)(k?)"


def parse_probe(text: str, p: Path) -> VideoInfo:
    """Read `ffmpeg -i` output. Kept separate from running ffmpeg so it is testable on text."""
    header = re.search(r"^Input #0, ([^,]+(?:,[^,\s]+)*), from", text, re.M)
    if not header:
        reason = _last_error_line(text)
        raise UserError(f"is not a video ffmpeg can read ({reason}). Is the file complete and "
                        "really a video? Try playing it, or convert it to mp4", p)
    video = None
    audio_streams: list[AudioStream] = []
    for m in _STREAM.finditer(text):
        kind, fields = m.group(3), _split_top(m.group(4))
        if kind == "Video" and video is None and "attached pic" not in m.group(4):
            video = fields
        elif kind == "Audio":
            audio_streams.append(_audio(int(m.group(1)), len(audio_streams), m.group(2), fields))
    if video is None:
        raise UserError("has no video stream (audio only or an image?): give a video file", p)
    size = next((_SIZE.search(f) for f in video[1:] if _SIZE.search(f)), None)
    if size is None:
        raise UserError("ffmpeg reports no frame size for its video stream: the file may be "
                        "damaged", p)
    fps = _rate(video, "fps") or _rate(video, "tbr")
    if not fps:
        raise UserError("ffmpeg reports no frame rate for its video: the file may be damaged", p)
    start = re.search(r"\bstart (-?\d+(?:\.\d+)?)", " ".join(video))
    return VideoInfo(
        path=p, container=header.group(1), duration=_duration(text), fps=fps,
        fps_exact=exact_rate(fps), width=int(size.group(1)), height=int(size.group(2)),
        video_codec=video[0].split()[0], pix_fmt=video[1].split("(")[0].strip() if len(video) > 1
        else "", video_start=float(start.group(1)) if start else 0.0,
        audio_streams=audio_streams, tags=_container_tags(text))


def _split_top(s: str) -> list[str]:
    """Split on commas outside brackets: `h264 (High), yuv420p(tv, progressive), 640x480`."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def _rate(fields: list[str], unit: str) -> float | None:
    for f in fields:
        m = re.fullmatch(_NUM + " " + unit, f.split(" (")[0].strip())
        if m:
            return float(m.group(1)) * (1000 if m.group(2) else 1)
    return None


def exact_rate(fps: float) -> str:
    """ffmpeg prints 29.97 for 30000/1001: recover the NTSC rationals, else a short fraction."""
    n = round(fps * 1.001)
    if abs(n / 1.001 - fps) < 0.006 and abs(n - fps) > 0.01:
        return f"{n * 1000}/1001"
    frac = Fraction(fps).limit_denominator(1000)
    return str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"


def _audio(index: int, audio_index: int, lang: str | None, fields: list[str]) -> AudioStream:
    rate = next((int(f.split()[0]) for f in fields if re.fullmatch(r"\d+ Hz", f)), None)
    channels = None
    for f in fields[1:]:
        layout = f.split("(")[0].strip()
        named = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "6.1": 7,
                 "7.1": 8}
        if layout in named:
            channels = named[layout]
        elif re.fullmatch(r"\d+ channels", layout):
            channels = int(layout.split()[0])
    lang = None if lang in (None, "und") else lang
    return AudioStream(index, audio_index, fields[0].split()[0], rate, channels, lang)


def _duration(text: str) -> float | None:
    m = _DURATION.search(text)
    if not m or m.group(1) == "N/A":
        return None
    return int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4))


def _container_tags(text: str) -> dict[str, str]:
    """Metadata block between `Input #0` and `Duration:` (two-space indent = container level)."""
    tags: dict[str, str] = {}
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("Input #0")), None)
    if start is None:
        return tags
    for line in lines[start + 1:]:
        if line.lstrip().startswith(("Duration:", "Stream #", "Chapter")):
            break
        m = re.match(r"^ {4}(\S[^:]*?)\s*: (.*)$", line)
        if m:
            tags.setdefault(m.group(1).lower(), m.group(2))
    return tags


def _last_error_line(text: str) -> str:
    lines = [l.strip() for l in text.splitlines()
             if l.strip() and "At least one output file" not in l]
    if not lines:
        return "no output from ffmpeg"
    line = lines[-1]
    return re.sub(r"^\[[^\]]*\]\s*", "", line).split(": ", 1)[-1] if ": " in line else line


# --------------------------------------------------------------------- labels and running

def label_args(out_path: str | os.PathLike) -> list[str]:
    """Container metadata saying the file is altered media, in the keys each format keeps.

    mp4/mkv/webm keep `comment` and `description`; mov needs `use_metadata_tags` for the second
    key; avi (RIFF INFO) keeps `comment` and `ISBJ` (shown as `subject`); MPEG-PS keeps none.
    """
    ext = Path(out_path).suffix.lower()
    label = ALTERED_MEDIA_LABEL
    if ext == ".avi":
        return ["-metadata", f"comment={label}", "-metadata", f"ISBJ={label}"]
    args = ["-metadata", f"comment={label}", "-metadata", f"description={label}"]
    if ext == ".mov":
        args += ["-movflags", "+use_metadata_tags"]
    return args


def run_ffmpeg(args: Sequence[str], blame: str | os.PathLike, total: int | None = None,
               desc: str = "ffmpeg", progress: bool = True) -> None:
    """Run ffmpeg with `args`, showing a tqdm bar fed from `-progress pipe:1`.

    Any failure becomes one UserError naming `blame` with ffmpeg's own last message. Ctrl-C
    stops ffmpeg and re-raises, so callers can clean up their temporary files.
    """
    from tqdm import tqdm

    working_on(blame)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
           "-nostats", "-progress", "pipe:1", *map(str, args)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace",
                            preexec_fn=die_with_parent if sys.platform.startswith("linux")
                            else None)
    errors: deque[str] = deque(maxlen=20)
    reader = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
    reader.start()
    bar = tqdm(total=total, desc=desc, unit="frame", disable=not progress)
    done = 0
    try:
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            if key == "frame" and value.isdigit() and int(value) > done:
                bar.update(int(value) - done)
                done = int(value)
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        bar.close()
        reader.join(timeout=5)
    if proc.returncode != 0:
        if any("No space left on device" in line for line in errors):
            raise UserError("the disk is full (ffmpeg: No space left on device). Free some space "
                            "and run the same command again; work already done is kept.",
                            _output_folder(args))
        msg = " / ".join(l.strip() for l in list(errors)[-3:] if l.strip()) or \
            f"exit code {proc.returncode}"
        raise UserError(f"ffmpeg failed: {msg}", blame)


def _output_folder(args: Sequence[str]) -> Path:
    """The user's folder ffmpeg was writing into (its output is the last argument, often a
    hidden temporary file or work folder, whose name means nothing to the user)."""
    folder = Path(str(args[-1])).parent
    while folder.name.startswith(".") and folder != folder.parent:
        folder = folder.parent
    return folder


def count_frames(path: str | os.PathLike) -> int:
    """Frames in the first video stream, by decoding it (exact, unlike the header estimate)."""
    check_readable(Path(path))
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-progress",
                           "pipe:1", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    frames = re.findall(r"^frame=(\d+)$", proc.stdout, re.M)
    if proc.returncode != 0 or not frames:
        raise UserError(f"could not decode its video: {_last_error_line(proc.stderr)}", path)
    return int(frames[-1])
