"""Face extraction speed and landmark accuracy (prints figures; nothing is asserted).

    python bench/extract.py [--detectors fast,accurate] [--workers N] [--clips N] [--hd]

Speed: frames/s of the whole extraction (read frame, detect, 68 landmarks, pupils, align,
write the aligned JPG with metadata; dst also writes the aligned_debug frame), without and with
the iris net's pupils (`--pupils`), on the GRID clips (360x288,
25 fps) of ../shared/data/video, per detector, with the multiprocessing pool over all cores
(model loading in the workers included, and without it: the steady-state rate).
Accuracy: eye-centre error against the hand-placed pupils of ../shared/data/photos (.tem files),
as a fraction of the inter-ocular distance: the 68 points' eye centres and the iris net's
pupils.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("FACESTUDIO_SHARED", REPO.parent / "shared")) / "data"
CLIPS = ["grid_s2_a.mpg", "grid_s2_b.mpg", "grid_m1.mpg", "grid_f1.mpg"]


def frames_of(clips: list[Path], out: Path, hd: bool = False) -> Path:
    """All frames of the clips in one folder (`<clip>_00001.png`): one pool start for all;
    `hd`: upscaled to 1920x1080 (bench/detect_recall.py's HD filter), JPEG."""
    import imageio_ffmpeg

    from bench.detect_recall import HD
    out.mkdir(parents=True, exist_ok=True)
    for clip in clips:
        extra, ext = (["-vf", HD, "-q:v", "2"], "jpg") if hd else ([], "png")
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(clip),
                        *extra, str(out / f"{clip.stem}_%05d.{ext}")], check=True)
    return out


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench_speed(detector: str, side: str, frames: Path, workers: int, tmp: Path,
                pupils: bool = True) -> None:
    from app.extract.pipeline import ExtractOptions, extract_folder

    opts = ExtractOptions(side=side, detector=detector, workers=workers, pupils=pupils)
    out = tmp / f"{detector}_{side}_{'pupils' if pupils else 'no_pupils'}"
    load_before = os.getloadavg()[0]
    c0, t0 = cpu_seconds(), time.perf_counter()
    r = extract_folder(frames, out / "aligned", out / "aligned_debug", opts, progress=False)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    load = model_load_seconds(detector, pupils)
    n = r.processed
    per_frame = (cpu - load) / n  # CPU seconds per frame, models loaded once (fork)
    print(f"{detector:8s} {side} {'with' if pupils else 'without'} pupils: {n} frames, "
          f"{r.faces} faces; wall {wall:.1f} s = "
          f"{n / wall:.1f} frames/s with {workers} workers (load average "
          f"{load_before:.1f} on {os.cpu_count()} cores, model load {load:.1f} s included); "
          f"CPU {per_frame * 1000:.1f} ms/frame -> {workers / per_frame:.0f} frames/s on "
          f"{workers} free cores")


_LOAD: dict[str, float] = {}


def model_load_seconds(detector: str, pupils: bool = True) -> float:
    """CPU time to load the detector, the 68-point predictor and (`pupils`) the iris net once
    (a separate process)."""
    key = f"{detector}:{pupils}"
    if key not in _LOAD:
        iris = "from app.extract.pupils import load; load(); " if pupils else ""
        code = ("import time; t=time.process_time(); from app.extract.detectors import "
                f"make_detector, Landmarker; make_detector({detector!r}); Landmarker(); {iris}"
                "print(time.process_time()-t)")
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, check=True)
        _LOAD[key] = float(out.stdout.strip().splitlines()[-1])
    return _LOAD[key]


def bench_accuracy(detectors: list[str]) -> None:
    import cv2

    from app.extract.accuracy import eye_error, tem_pupils
    from app.extract.detectors import Landmarker, make_detector
    from app.extract.frames import read_frame
    from app.extract.pupils import locate_pupils

    photos = sorted(p for p in (SHARED / "photos").glob("*/*")
                    if p.suffix.lower() in (".jpg", ".png"))
    landmarker = Landmarker()
    for name in detectors:
        det = make_detector(name)
        errors, pupil_errors, missed = [], [], []
        t0 = time.perf_counter()
        for photo in photos:
            img = read_frame(photo)
            boxes = det.detect(img)
            if not boxes:
                missed.append(photo.name)
                continue
            box = max(boxes, key=lambda b: b.area)
            lm = landmarker.fit(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), box)
            tem = photo.with_suffix(".tem")
            if tem.exists():
                errors.append(eye_error(lm, tem_pupils(tem)))
                pupil_errors.append(eye_error(lm, tem_pupils(tem), locate_pupils(img, lm)))
        dt = time.perf_counter() - t0
        print(f"{name:8s} photos: {len(photos) - len(missed)}/{len(photos)} with a face "
              f"({dt / len(photos) * 1000:.0f} ms/photo); eye-centre error vs .tem pupils on "
              f"{len(errors)} photos: median {np.median(errors) * 100:.2f}%, "
              f"max {max(errors) * 100:.2f}% of the inter-ocular distance; iris-net pupils: "
              f"median {np.median(pupil_errors) * 100:.2f}%, max {max(pupil_errors) * 100:.2f}%"
              + (f"; missed: {', '.join(missed)}" if missed else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--detectors", default="fast,accurate")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--clips", type=int, default=4, help="GRID clips for the fast detector")
    ap.add_argument("--accurate-clips", type=int, default=1, help="GRID clips for the others")
    ap.add_argument("--hd", action="store_true", help="frames upscaled to 1920x1080 (JPEG)")
    ap.add_argument("--sides", default="src,dst")
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--pupils", choices=("both", "on", "off"), default="both",
                    help="extraction with and/or without the iris net's pupils")
    args = ap.parse_args()
    detectors = args.detectors.split(",")
    print(f"CPU cores: {os.cpu_count()}, workers: {args.workers}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clips = [SHARED / "video" / c for c in CLIPS]
        for det in detectors:
            count = args.clips if det == "fast" else args.accurate_clips
            frames = frames_of(clips[:count], tmp / f"frames_{count}", args.hd)
            for side in args.sides.split(","):
                for pupils in ((False, True) if args.pupils == "both" else
                               (args.pupils == "on",)):
                    bench_speed(det, side, frames, args.workers, tmp, pupils)
    if not args.no_accuracy:
        bench_accuracy(detectors)


if __name__ == "__main__":
    main()
