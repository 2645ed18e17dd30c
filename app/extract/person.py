"""The right person: keep, in every frame, the face nearest one identity, never someone else's.

In a two-shot the largest face is not always the one to replace. `--person FACE.jpg` (a photo
or an aligned face file) or `--person first` (the first frame with a face) fixes an identity
as a 128-d embedding of dlib's face recognition net; extraction then keeps, per frame, the face
nearest it, and only when it is nearer than dlib's same-person threshold: a frame where only
other people are found is reported like a frame without a face (so the manual fix visits it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import UserError

#: how many leading frames `--person first` looks through for a face
FIRST_FRAMES = 25


@dataclass(frozen=True)
class Person:
    """An identity to keep (plain floats, so it travels to worker processes)."""

    embedding: tuple[float, ...]
    threshold: float
    source: str = ""

    def distance(self, embedding: np.ndarray) -> float:
        return float(np.linalg.norm(np.asarray(self.embedding) - embedding))


def _person(embedding: np.ndarray, source: str, threshold: float | None) -> Person:
    from app.identity import SAME_PERSON
    return Person(tuple(float(v) for v in embedding),
                  SAME_PERSON if threshold is None else float(threshold), source)


def person_from_image(path: Path, detector, landmarker,
                      threshold: float | None = None) -> Person:
    """The identity of the face in a photo (the largest one), or of an aligned face file.

    UserError when the file is unreadable or shows no face: checked before any frame is done.
    """
    import cv2

    from app.extract.frames import BadFrame, read_frame
    from app.faceset.face_file import FaceFileError, has_meta, read_face
    from app.identity import embed_landmarks

    path = Path(path)
    if not path.is_file():
        raise UserError("person reference image not found; give a photo or an aligned face "
                        "of the person to keep", path)
    if has_meta(path):  # an aligned face from an earlier extraction: its landmarks are known
        try:
            img, meta = read_face(path)
            return _person(embed_landmarks(cv2.cvtColor(img, cv2.COLOR_BGR2RGB),
                                           meta.landmarks_array()), str(path), threshold)
        except FaceFileError:
            pass
    try:
        img = read_frame(path)
    except BadFrame as exc:
        raise UserError(f"cannot read the person reference image ({exc}); give a jpg or png "
                        "photo of the person to keep", path) from None
    found = largest_face(img, detector, landmarker)
    if found is None:
        raise UserError("no face found in the person reference image; give a photo where "
                        "the person's face is clearly visible (or one of their aligned faces)",
                        path)
    return _person(embed_landmarks(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), found.landmarks),
                   str(path), threshold)


def person_from_first_frame(frames: list[Path], detector, landmarker,
                            threshold: float | None = None) -> tuple[Person, str]:
    """The largest face of the first frame that has one (among the first FIRST_FRAMES).

    Returns the person and a line saying which frame it came from and how many faces it had.
    """
    import cv2

    from app.extract.frames import BadFrame, read_frame
    from app.identity import embed_landmarks

    for path in frames[:FIRST_FRAMES]:
        try:
            img = read_frame(path)
        except BadFrame:
            continue
        boxes = detector.detect(img)
        if not boxes:
            continue
        found = largest_face(img, detector, landmarker, boxes)
        note = f"person to keep: the face in {path.name}"
        if len(boxes) > 1:
            note += (f" (the largest of its {len(boxes)} faces; to pick another, pass "
                     "--person with a photo or an aligned face of that person)")
        return _person(embed_landmarks(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), found.landmarks),
                       str(path), threshold), note
    folder = frames[0].parent if frames else Path(".")
    raise UserError(f"no face found in the first {FIRST_FRAMES} frames to take the person "
                    "from; pass --person with a photo or an aligned face of the person", folder)


def largest_face(img: np.ndarray, detector, landmarker, boxes=None):
    """The largest detected face with its landmarks (a `Found`), or None."""
    from app.extract.faces import Found
    boxes = detector.detect(img) if boxes is None else boxes
    if not boxes:
        return None
    box = max(boxes, key=lambda b: b.area)
    return Found(box, landmarker.fit(img, box))


def nearest(person: Person, img_bgr: np.ndarray, faces: list) -> tuple[list, int]:
    """([the face nearest `person`] or [], how many faces were someone else).

    Every face is embedded (about 20 ms each on one CPU core), so extra people cost time.
    """
    import cv2

    from app.identity import embed_landmarks

    if not faces:
        return [], 0
    rgb = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB)
    dist = [person.distance(embed_landmarks(rgb, f.landmarks)) for f in faces]
    best = int(np.argmin(dist))
    if dist[best] > person.threshold:
        return [], len(faces)
    return [faces[best]], len(faces) - 1


def resolve_person(spec: str, frames_dir: Path, detector_name: str,
                   threshold: float | None = None) -> tuple[Person, str]:
    """`--person` value -> (Person, a line to print): a path, or `first` for the first frame."""
    from app.extract.detectors import Landmarker, make_detector
    from app.frame_files import list_frames

    detector, landmarker = make_detector(detector_name), Landmarker()
    if spec == "first":
        frames = list_frames(frames_dir)
        if not frames:
            raise UserError("no frames to take the person from; run `python -m app video "
                            "extract` first", frames_dir)
        return person_from_first_frame(frames, detector, landmarker, threshold)
    person = person_from_image(Path(spec).expanduser(), detector, landmarker, threshold)
    return person, f"person to keep: the face in {spec}"
