"""Regenerate the training tests' face sets from ../shared/data (run once; outputs are committed).

src/: a man (GRID talker s2, grid_s2_a.mpg), dst/: a woman (GRID f1, grid_f1.mpg); every 3rd
frame, aligned 128 px full faces found by the app's own extraction (dlib HOG + 68 landmarks).
128 px keeps the committed files small; models at 64-128 px train from them.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data" / "video"

from app.extract.pipeline import ExtractOptions, extract_folder  # noqa: E402


def frames(video: Path, out: Path, every: int = 3) -> None:
    cap = cv2.VideoCapture(str(video))
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % every == 0:
            cv2.imwrite(str(out / f"{i:05d}.png"), frame)
        i += 1


def main() -> None:
    for side, clip in (("src", "grid_s2_a.mpg"), ("dst", "grid_f1.mpg")):
        out = HERE / side
        shutil.rmtree(out, ignore_errors=True)
        with tempfile.TemporaryDirectory() as tmp:
            fdir = Path(tmp)
            frames(SHARED / clip, fdir)
            opts = ExtractOptions(side="src", face_type="full", size=128, workers=1, jpeg_quality=90)
            print(side, extract_folder(fdir, out, None, opts, progress=False).summary())


if __name__ == "__main__":
    main()
