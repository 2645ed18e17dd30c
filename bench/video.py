"""Speed of the video steps on a real clip: frames per second for each step and format.

Run: python bench/video.py [VIDEO]   (default: tests/media/group3.mp4, 640x480, 90 frames)
Prints figures only; nothing here is asserted.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.video.assemble import FORMATS, assemble  # noqa: E402

from app.video.cut import cut

from app.video.denoise import denoise_frames

from app.video.ffmpeg import probe

from app.video.frames import extract_frames


def timed(label: str, frames: int, fn) -> None:
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    print(f"{label:28s} {frames:5d} frames {dt:7.2f} s {frames / dt:8.1f} frames/s")


def main() -> None:
    video = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "tests" / "media" / "group3.mp4"
    info = probe(video)
    n = info.frame_count_estimate or 0
    print(f"{video.name}: {info.width}x{info.height}, {info.fps:g} fps, ~{n} frames")
    t = time.perf_counter()
    for _ in range(5):
        subprocess.run([sys.executable, "-m", "app", "--help"], cwd=REPO, capture_output=True)
    print(f"{'python -m app --help':28s} {(time.perf_counter() - t) / 5 * 1000:7.0f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        timed("probe", 1, lambda: probe(video))
        for ext in ("jpg", "png"):
            timed(f"extract {ext}", n, lambda: extract_frames(video, root / ext, ext=ext,
                                                               progress=False))
        timed("denoise png (factor 5)", n, lambda: denoise_frames(root / "png", 5,
                                                                  progress=False))
        timed("cut (re-encode, whole clip)", n, lambda: cut(video, 0, None, out_path=root / "c.mp4",
                                                           progress=False))
        for fmt in FORMATS:
            out = root / f"result_{fmt}"
            timed(f"assemble {fmt}", n, lambda: assemble(root / "png", out, info.fps_exact,
                                                         audio_from=video, fmt=fmt,
                                                         progress=False))
            written = out.with_suffix(FORMATS[fmt].ext)
            print(f"{'':28s} size {written.stat().st_size / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
