"""One frame -> aligned faces: landmarks, alignment, metadata, and the debug drawing."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.extract.align import face_matrix, invert_affine, transform_points
from app.extract.detectors import Box
from app.faceset.face_file import FaceMeta
from app.faceset.landmarks import draw_landmarks, estimate_pitch_yaw, face_hull


@dataclass
class Found:
    """A face found in a frame: its detector box and 68 landmarks in frame pixels; `pupils`
    (2, 2), image-left eye first, once app.extract.pupils has found them."""

    box: Box
    landmarks: np.ndarray
    pupils: np.ndarray | None = None


def align_face(frame: np.ndarray, found: Found, face_type: str, size: int,
               source_name: str) -> tuple[np.ndarray, FaceMeta]:
    """Warp the face to a `size` square of `face_type` and build its metadata."""
    mat = face_matrix(found.landmarks, size, face_type)
    aligned = cv2.warpAffine(frame, mat, (size, size), flags=cv2.INTER_CUBIC,
                             borderMode=cv2.BORDER_REPLICATE)
    pitch, yaw = estimate_pitch_yaw(found.landmarks)
    h, w = frame.shape[:2]
    meta = FaceMeta(
        face_type=face_type, landmarks=transform_points(found.landmarks, mat).tolist(),
        source_filename=source_name, source_rect=found.box.as_list(),
        source_landmarks=found.landmarks.tolist(), image_to_face_mat=mat.tolist(),
        mask_polygons=[], source_size=[int(w), int(h)], pitch=pitch, yaw=yaw,
        source_pupils=None if found.pupils is None else np.asarray(found.pupils).tolist())
    return aligned, meta


def face_outline(mat: np.ndarray, size: int) -> np.ndarray:
    """The aligned square's border in frame pixels (what the debug image outlines)."""
    square = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64)
    return transform_points(square, invert_affine(mat))


def draw_debug(frame: np.ndarray, faces: list[Found], face_type: str, size: int) -> np.ndarray:
    """Frame copy with each face's aligned-area outline, detector box, hull, landmarks and
    pupils (white crosses)."""
    out = frame.copy()
    if not faces:
        cv2.putText(out, "no face", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 255), 2,
                    cv2.LINE_AA)
    for f in faces:
        mat = face_matrix(f.landmarks, size, face_type)
        cv2.polylines(out, [np.round(face_outline(mat, size)).astype(np.int32)], True,
                      (255, 0, 255), 1, cv2.LINE_AA)
        b = f.box
        cv2.rectangle(out, (int(b.left), int(b.top)), (int(b.right), int(b.bottom)),
                      (255, 128, 0), 1)
        cv2.polylines(out, [face_hull(f.landmarks)], True, (0, 255, 255), 1, cv2.LINE_AA)
        draw_landmarks(out, f.landmarks)
        if f.pupils is not None:
            _draw_pupils(out, f.pupils, f.landmarks)
    return out


def _draw_pupils(img: np.ndarray, pupils: np.ndarray, landmarks: np.ndarray) -> None:
    """A cross on each pupil, sized to the eye (a fifth of its corner distance)."""
    eye = np.linalg.norm(landmarks[39] - landmarks[36])
    for x, y in np.asarray(pupils):
        cv2.drawMarker(img, (int(round(x)), int(round(y))), (255, 255, 255), cv2.MARKER_CROSS,
                       max(5, int(eye / 5)), 1, cv2.LINE_AA)
