"""Landmarkers compared: dlib's 68 points in one pass (the box's roll only), extraction's fit
(refitted upright at its own eye line's roll where the box allows: not MT's), and MediaPipe's
face mesh as 68 points (bench/mesh_landmarker.py): label-free flip consistency per yaw bin, frame-to-frame
jitter on video, eye-centre error against hand-placed pupils.

    FACESTUDIO_SHARED=/work/shared python bench/landmarks.py [--step 2] [--detector mt]

Flip consistency: the face is fitted in the frame and in its mirror image, the mirror's points
mirrored back (iBUG left/right swap), mean point distance / inter-ocular distance; yaw in
degrees from solvePnP on dlib's points (app/faceset/head_pose.py). Jitter: mean distance of each
point from the midpoint of its positions in the frames before and after (a second
difference, which smooth head motion barely moves), / inter-ocular distance, largest face of
pexels_expressions. Every face of every frame counts (group3 and intel have turned people). Eye-centre
error: app/extract/accuracy.py on the London and Lisa photos with .tem pupils, for each
landmarker's eye-contour centres and for the iris net's pupils on dlib's eye corners (what
extraction stores, app/extract/pupils.py); `--eyes-only` runs just that. Boxes: the detector
given (default mt, extraction's default).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.detect_recall import FLIP, SHARED, clip_frames  # noqa: E402

CLIPS = ["pexels_expressions.mp4", "intel_two_people_tilt.mp4", "group3.mp4", "grid_s2_a.mpg",
         "grid_f1.mpg"]
YAW_BINS = (0, 15, 30, 60, 90)
NAMES = ("dlib 1 pass", "dlib", "mesh")
#: box width (px) from which a face counts as clearly visible (group3's people behind cameras
#: are 20-40 px and partly hidden: every landmarker is 15-40% off there)
BIG = 60


class Fits:
    """The three landmarkers on one box."""

    def __init__(self):
        from app.extract.detectors import Landmarker
        from bench.mesh_landmarker import MeshLandmarker
        self.dlib, self.mesh = Landmarker(), MeshLandmarker()

    def __call__(self, img, box) -> dict[str, np.ndarray]:
        from app.extract.detectors import to_gray
        return {"dlib 1 pass": self.dlib._upright_fit(to_gray(img), box),
                "dlib": self.dlib.fit(img, box), "mesh": self.mesh.fit(img, box)}


def iod(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))) or 1.0


def flip_errors(img, det, fits: Fits, box, own: dict) -> dict[str, float] | None:
    w = img.shape[1]
    mirror = np.ascontiguousarray(img[:, ::-1])
    boxes = det.detect(mirror)
    centre = np.array([w - 1 - (box.left + box.right) / 2, (box.top + box.bottom) / 2])
    if not boxes:
        return None
    near = min(boxes, key=lambda b: np.hypot((b.left + b.right) / 2 - centre[0],
                                             (b.top + b.bottom) / 2 - centre[1]))
    out = {}
    for name, back in fits(mirror, near).items():
        back = back.copy()
        back[:, 0] = w - 1 - back[:, 0]
        back = back[FLIP]
        out[name] = float(np.linalg.norm(back - own[name], axis=1).mean() / iod(own["dlib"]))
    return out


def main() -> None:
    from app.extract.detectors import make_detector
    from app.extract.frames import read_frame
    from app.faceset.head_pose import head_pose

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--step", type=int, default=1, help="every Nth frame (GRID: 3N)")
    ap.add_argument("--detector", default="mt")
    ap.add_argument("--eyes-only", action="store_true", help="only the eye-centre error")
    args = ap.parse_args()
    det, fits = make_detector(args.detector), Fits()
    if args.eyes_only:
        return eye_errors(fits, det)
    rows, jitter = [], {n: [] for n in NAMES}
    with tempfile.TemporaryDirectory() as tmp:
        for clip in CLIPS:
            track: list[dict | None] = []
            step = args.step * (3 if clip.startswith("grid") else 1)  # frontal: fewer
            for path in clip_frames(SHARED / clip, Path(tmp) / clip, step):
                img = read_frame(path)
                boxes = det.detect(img)
                if not boxes:
                    track.append(None)
                    continue
                for k, box in enumerate(sorted(boxes, key=lambda b: -b.area)):
                    own = fits(img, box)
                    if k == 0:
                        track.append(own)  # jitter: the largest face
                    yaw = abs(head_pose(own["dlib"], (img.shape[1], img.shape[0]))[0])
                    err = flip_errors(img, det, fits, box, own)
                    if err:
                        rows.append((yaw, err, box.right - box.left))
            if clip.startswith("pexels"):
                for a, b, c in zip(track, track[1:], track[2:]):
                    if a and b and c:
                        for n in NAMES:
                            mid = (a[n] + c[n]) / 2
                            jitter[n].append(np.linalg.norm(b[n] - mid, axis=1).mean() / iod(b["dlib"]))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (host shared)")
    for least in (0, BIG):
        print(f"faces {least}+ px wide:" if least else "every face:")
        for lo, hi in zip(YAW_BINS[:-1], YAW_BINS[1:]):
            sel = [r[1] for r in rows if lo <= r[0] < hi and r[2] >= least]
            cells = ("; ".join(f"{n} {np.mean([s[n] for s in sel]) * 100:.1f}%" for n in NAMES)
                     if sel else "-")
            print(f"  flip consistency |yaw| {lo}-{hi} deg (n={len(sel)}): {cells}")
    print(f"faces: {len(rows)}; jitter on pexels_expressions (n={len(jitter['dlib'])}): "
          + "; ".join(f"{n} {np.mean(jitter[n]) * 100:.2f}%" for n in NAMES) + f" (step {args.step})")
    eye_errors(fits, det)


def eye_errors(fits: Fits, det) -> None:
    from app.extract.accuracy import eye_error, tem_pupils
    from app.extract.frames import read_frame
    from app.extract.pupils import locate_pupils

    for folder in ("london", "lisa"):
        errs = {n: [] for n in NAMES + ("iris-net pupils",)}
        for tem in sorted((SHARED.parent / "photos" / folder).glob("*.tem")):
            img = read_frame(tem.with_suffix(".jpg"))
            box = max(det.detect(img), key=lambda b: b.area)
            for n, lm in fits(img, box).items():
                errs[n].append(eye_error(lm, tem_pupils(tem)))
                if n == "dlib":
                    errs["iris-net pupils"].append(eye_error(lm, tem_pupils(tem),
                                                             locate_pupils(img, lm)))
        print(f"eye-centre error, {folder} photos (n={len(errs['dlib'])}), median / max: "
              + "; ".join(f"{n} {np.median(e):.3f} / {max(e):.3f}" for n, e in errs.items()))


if __name__ == "__main__":
    main()
