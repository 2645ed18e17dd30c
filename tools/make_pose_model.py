"""Write app/faceset/mean_face_3d.json: a 3-D mean face at dlib's 68 points, for head pose.

app/faceset/head_pose.py fits head pose with cv2.solvePnP against a 3-D face. Six points of a
generic hand-made head (nose tip, chin, eye and mouth corners) made the yaw jump 3 degrees from
frame to frame on a still talking head, because one pixel of nose-tip jitter on a 100 px face
turns it by ~4 degrees. Fitting the 51 inner points (eyebrows, nose, eyes, mouth; not the jaw,
which dlib puts on the silhouette and which slides with the turn) needs their depths: these
come from MediaPipe's face mesh (bench/mesh_landmarker.py, 468 points with depth, Apache-2.0),
run on the frontal photos in ../shared/data/photos, each face centred, roll-levelled and
scaled to unit eye distance, averaged, then made left/right symmetric.

    FACESTUDIO_SHARED=/work/shared python tools/make_pose_model.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "app" / "faceset" / "mean_face_3d.json"
SHARED = Path(os.environ.get("FACESTUDIO_SHARED", REPO.parent / "shared")) / "data" / "photos"


def mesh_68_3d(mesh, img: np.ndarray, box) -> np.ndarray:
    """(68, 3) mesh points (crop pixels, depth in the same units) at the iBUG points."""
    from bench.mesh_landmarker import MESH_TO_68, SIZE
    mesh.mesh(img, box)                     # two passes: the second crop is MediaPipe's ROI
    centre, side, roll = mesh.last_roi
    mat = cv2.getRotationMatrix2D(tuple(map(float, centre)), roll, SIZE / side)
    mat[:, 2] += (SIZE / 2 - centre[0], SIZE / 2 - centre[1])
    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    crop = cv2.warpAffine(rgb, mat, (SIZE, SIZE), flags=cv2.INTER_LINEAR)
    out = mesh._net([crop[None].astype(np.float32) / 255.0])
    return np.asarray(out[mesh._net.outputs[0]], np.float64).reshape(-1, 3)[MESH_TO_68]


def normalised(p3: np.ndarray) -> np.ndarray:
    """Centred on the inner points, eye line level, unit distance between the eye centres."""
    e = p3[42:48].mean(0) - p3[36:42].mean(0)
    a = -np.arctan2(e[1], e[0])
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    q = (p3 - p3[17:].mean(0)) @ rot.T
    return q / np.linalg.norm(q[42:48].mean(0) - q[36:42].mean(0))


def main() -> None:
    from app.extract.detectors import make_detector
    from app.extract.frames import read_frame
    from bench.detect_recall import FLIP
    from bench.mesh_landmarker import MeshLandmarker

    class RoiMesh(MeshLandmarker):
        def _run(self, img, centre, side, roll):
            self.last_roi = (centre, side, roll)
            return super()._run(img, centre, side, roll)

    mesh, det = RoiMesh(), make_detector("mt")
    photos = sorted(SHARED.glob("london/*_03.jpg")) + sorted(SHARED.glob("lisa/*.jpg"))
    shapes = []
    for path in photos:
        img = read_frame(path)
        boxes = det.detect(img)
        if boxes:
            shapes.append(normalised(mesh_68_3d(mesh, img, max(boxes, key=lambda b: b.area))))
    mean = np.mean(shapes, 0)
    mirror = mean[FLIP] * (-1, 1, 1)
    mean = (mean + mirror) / 2
    OUT.write_text(json.dumps({
        "about": "3-D mean face at dlib's 68 iBUG points (x right, y down, z away from the "
                 "camera; unit eye-centre distance), from MediaPipe's face mesh on "
                 f"{len(shapes)} frontal photos: tools/make_pose_model.py",
        "points": np.round(mean, 4).tolist()}, indent=0) + "\n")
    print(f"wrote {OUT} from {len(shapes)} faces")


if __name__ == "__main__":
    main()
