"""Per detector on the shared clips: recall, frames/s, flip-consistency of the 68 landmarks.

    python bench/detect_recall.py [--detectors fast,yunet,mt,accurate] [--step N] [--hd]

Recall: share of the frames showing a face (hand-checked list: bench/face_frames.toml) where
the detector finds at least one face, and, on clips with two people, both. Speed: detection +
68-point fit of every face, one process, one thread (frames/s; the host may be shared: compare
detectors of one run only). Flip consistency (a label-free landmark error): the face is fitted
in the frame and in its mirror image, the mirror's points are mirrored back (with the iBUG
left/right point swap), and the mean point distance is given as a share of the inter-ocular
distance, per |yaw| bin (yaw from the landmarks, -1..1; 0.3 is about 30 degrees of turn).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("FACESTUDIO_SHARED", REPO.parent / "shared")) / "data" / "video"

#: iBUG 68-point index of each point's mirror partner
FLIP = np.array(list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30]
                + [35, 34, 33, 32, 31] + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
                + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60]
                + [67, 66, 65])
#: |yaw| ranges (estimate_pitch_yaw: 1 = 90 degrees; until 2026-12-07 a jaw-based measure)
YAW_BINS = (0.0, 0.15, 0.3, 0.5, 1.01)


HD = ("scale=1920:1080:force_original_aspect_ratio=decrease:flags=bicubic,"
      "pad=1920:1080:(ow-iw)/2:(oh-ih)/2")


def clip_frames(clip: Path, out: Path, step: int, hd: bool = False) -> list[Path]:
    import imageio_ffmpeg
    out.mkdir(parents=True, exist_ok=True)
    ext = "jpg" if hd else "png"
    scale = ["-vf", HD, "-q:v", "2"] if hd else []
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(clip),
                    *scale, str(out / f"%05d.{ext}")], check=True)
    return sorted(out.glob(f"*.{ext}"))[::step]


def flip_error(img: np.ndarray, det, lm_fit, lm: np.ndarray) -> float | None:
    """Mean distance between the fit and the mirrored fit of the mirror image / eye distance."""
    w = img.shape[1]
    mirror = np.ascontiguousarray(img[:, ::-1])
    boxes = det.detect(mirror)
    if not boxes:
        return None
    centre = np.array([w - 1 - lm[:, 0].mean(), lm[:, 1].mean()])
    box = min(boxes, key=lambda b: np.hypot((b.left + b.right) / 2 - centre[0],
                                            (b.top + b.bottom) / 2 - centre[1]))
    back = lm_fit.fit(mirror, box)
    back[:, 0] = w - 1 - back[:, 0]
    back = back[FLIP]
    eyes = np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)) or 1.0
    return float(np.linalg.norm(back - lm, axis=1).mean() / eyes)


def bench_detector(name: str, clips: list[dict], tmp: Path, step: int, hd: bool = False,
                   flip: bool = True) -> None:
    from app.faceset.landmarks import estimate_pitch_yaw
    from app.extract.detectors import Landmarker, make_detector
    from app.extract.frames import read_frame

    det, lm_fit = make_detector(name), Landmarker()
    flips: list[tuple[float, float]] = []
    total_t = total_n = total_cpu = 0
    for clip in clips:
        frames = clip_frames(SHARED / clip["file"], tmp / Path(clip["file"]).stem, step, hd)
        any_face = all_faces = 0
        dt = cpu = 0.0
        fits = []
        for path in frames:
            img = read_frame(path)
            t0, c0 = time.perf_counter(), time.process_time()
            boxes = det.detect(img)
            lms = [lm_fit.fit(img, b) for b in boxes]
            dt, cpu = dt + time.perf_counter() - t0, cpu + time.process_time() - c0
            any_face += bool(boxes)
            all_faces += len(boxes) >= clip["faces"]
            if lms:
                fits.append((img, max(lms, key=lambda p: np.ptp(p[:, 0]))))
        total_t, total_n, total_cpu = total_t + dt, total_n + len(frames), total_cpu + cpu
        for img, lm in (fits[::2] if flip else []):
            err = flip_error(img, det, lm_fit, lm)
            if err is not None:
                flips.append((abs(estimate_pitch_yaw(lm)[1]), err))
        both = (f", all {clip['faces']} faces in {all_faces / len(frames):.0%}"
                if clip["faces"] > 1 else "")
        print(f"{name:8s} {clip['file']:26s} face found in {any_face}/{len(frames)} = "
              f"{any_face / len(frames):.1%}{both}; {len(frames) / dt:.1f} frames/s; "
              f"{cpu / len(frames) * 1000:.0f} CPU ms/frame")
    f = np.array(flips).reshape(-1, 2)
    bins = []
    for lo, hi in zip(YAW_BINS[:-1], YAW_BINS[1:]):
        e = f[(f[:, 0] >= lo) & (f[:, 0] < hi), 1]
        bins.append(f"|yaw| {lo:.2f}-{min(hi, 1):.2f}: " +
                    (f"{np.mean(e) * 100:.1f}% (n={len(e)})" if len(e) else "-"))
    flip_text = ("; flip-consistency error (% of the eye distance): " + "; ".join(bins)
                 if flip else "")
    print(f"{name:8s} all clips: {total_n / total_t:.1f} frames/s; {total_cpu / total_n * 1000:.0f} "
          f"CPU ms/frame = {2 * total_n / total_cpu:.0f} frames/s on 2 free cores" + flip_text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--detectors", default="fast,yunet,mt,accurate")
    ap.add_argument("--hd", action="store_true", help="clips upscaled to 1920x1080")
    ap.add_argument("--no-flip", action="store_true", help="skip the flip-consistency error")
    ap.add_argument("--step", type=int, default=1, help="every Nth frame of each clip")
    args = ap.parse_args()
    clips = tomllib.loads((REPO / "bench" / "face_frames.toml").read_text())["clip"]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared host: "
          "compare detectors of this run only); every frame listed shows a face")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.detectors.split(","):
            bench_detector(name, clips, Path(tmp) / name, args.step, args.hd, not args.no_flip)


if __name__ == "__main__":
    main()
