"""Sorting a face set DeepFaceLab's way: score every face, then rename the files in that order.

The metadata travels inside each file, so renaming loses nothing (the source frame is in
`source_filename`). Files are renamed to `00000.jpg`, `00001.jpg`, ... in two steps (temporary
names first) so no file is overwritten. `final` keeps a varied subset and moves the rest to a
sibling `aligned_trash` folder, as DeepFaceLab's "best faces" did; `one-face` moves every face of
a frame that gave more than one face there (DeepFaceLab's "one face in image": the other person,
a reflection, a poster). Files that are not readable
faces are reported and left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.faceset.face_file import FaceFileError, FaceMeta, list_faces, read_face
from app.faceset.landmarks import estimate_pitch_yaw
from app.faceset.mask_polygons import hull_mask
from app.faceset.sort_options import FINAL_COUNT, METHODS
from app.faceset.trash import move_to_trash, trash_dir



@dataclass
class FaceInfo:
    path: Path
    meta: FaceMeta
    blur: float
    hist: np.ndarray      # concatenated normalised B, G, R histograms (3 x 32 bins)
    brightness: float
    hue: float
    black: int
    #: head pose in [-1, 1] from the landmarks (today's estimate, whatever the file stored)
    pitch: float = 0.0
    yaw: float = 0.0


def face_features(path: Path) -> FaceInfo:
    """Everything the sort methods need from one face (FaceFileError if unreadable)."""
    import cv2

    img, meta = read_face(path)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    mask = hull_mask(meta.landmarks_array(), gray.shape, 1, np.uint8)
    lap = cv2.Laplacian(gray, cv2.CV_64F)
    inside = lap[mask > 0]
    blur = float(inside.var()) if inside.size > 16 else float(lap.var())
    hist = np.concatenate([cv2.calcHist([img], [c], None, [32], [0, 256]).ravel()
                           for c in range(3)])
    hist = hist / max(hist.sum(), 1.0)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    black = int((img.max(axis=2) <= 2).sum())
    pitch, yaw = estimate_pitch_yaw(meta.landmarks_array())
    return FaceInfo(path, meta, blur, hist, float(hsv[..., 2].mean()), float(hsv[..., 0].mean()),
                    black, pitch, yaw)


def order(faces: list[FaceInfo], method: str) -> list[FaceInfo]:
    """Faces in the order `method` gives (best/first first)."""
    if method == "blur":
        return sorted(faces, key=lambda f: -f.blur)
    if method == "face-yaw":
        return sorted(faces, key=lambda f: f.yaw)
    if method == "face-pitch":
        return sorted(faces, key=lambda f: f.pitch)
    if method == "brightness":
        return sorted(faces, key=lambda f: -f.brightness)
    if method == "hue":
        return sorted(faces, key=lambda f: f.hue)
    if method == "black":
        return sorted(faces, key=lambda f: f.black)
    if method == "source":
        return sorted(faces, key=lambda f: (f.meta.source_filename, f.path.name))
    if method == "hist":
        return _hist_chain(faces)
    if method == "hist-dissim":
        return _hist_dissimilar(faces)
    raise ValueError(f"unknown sort method {method!r}; use one of {METHODS}")


def _hist_chain(faces: list[FaceInfo]) -> list[FaceInfo]:
    """Greedy chain: each next face is the most similar unused one (similar faces together)."""
    if len(faces) < 3:
        return list(faces)
    s = np.sqrt(np.stack([f.hist for f in faces]))
    used = np.zeros(len(faces), bool)
    i, out = 0, []
    for _ in range(len(faces)):
        used[i] = True
        out.append(faces[i])
        if used.all():
            break
        sim = s @ s[i]
        sim[used] = -np.inf
        i = int(np.argmax(sim))
    return out


def _hist_dissimilar(faces: list[FaceInfo]) -> list[FaceInfo]:
    """Most unlike the rest first (outliers: wrong person, bad crops, odd lighting)."""
    if not faces:
        return []
    s = np.sqrt(np.stack([f.hist for f in faces]))
    score = np.zeros(len(faces))
    for a in range(0, len(faces), 1024):
        score[a:a + 1024] = (s[a:a + 1024] @ s.T).sum(1)
    return [faces[i] for i in np.argsort(score, kind="stable")]


def final_selection(faces: list[FaceInfo], count: int, bins: int = 32) -> tuple[list, list]:
    """(kept, trashed): the sharpest faces spread evenly over head yaw, at most `count`."""
    if count >= len(faces):
        return sorted(faces, key=lambda f: f.yaw), []
    groups: dict[int, list[FaceInfo]] = {}
    for f in faces:
        b = int(np.clip((f.yaw + 1) / 2 * bins, 0, bins - 1))
        groups.setdefault(b, []).append(f)
    for g in groups.values():
        g.sort(key=lambda f: -f.blur)
    kept: list[FaceInfo] = []
    depth = 0
    while len(kept) < count:
        for b in sorted(groups):
            if depth < len(groups[b]) and len(kept) < count:
                kept.append(groups[b][depth])
        depth += 1
    kept_ids = {id(f) for f in kept}
    return sorted(kept, key=lambda f: f.yaw), [f for f in faces if id(f) not in kept_ids]


def one_face_selection(faces: list[FaceInfo]) -> tuple[list, list]:
    """(kept, trashed): faces whose source frame gave exactly one face are kept (in name order)."""
    per_frame: dict[str, int] = {}
    for f in faces:
        per_frame[f.meta.source_filename] = per_frame.get(f.meta.source_filename, 0) + 1
    kept = [f for f in faces if per_frame[f.meta.source_filename] == 1]
    return kept, [f for f in faces if per_frame[f.meta.source_filename] > 1]


def rename_in_order(folder: Path, faces: list[FaceInfo], reserved: set[str]) -> None:
    """Rename to 00000.jpg, 00001.jpg ... via temporary names (never overwrites a file)."""
    temps = []
    for i, f in enumerate(faces):
        tmp = folder / f"sorting_{i:06d}_{f.path.name}"
        f.path.rename(tmp)
        temps.append(tmp)
    n = 0
    for tmp, f in zip(temps, faces):
        while f"{n:05d}{f.path.suffix.lower()}" in reserved:
            n += 1
        target = folder / f"{n:05d}{f.path.suffix.lower()}"
        tmp.rename(target)
        f.path = target
        n += 1


def sort_faceset(folder: Path, method: str, final_count: int | None = None,
                 progress: bool = True, trash_others: bool = False) -> str:
    """Sort the faces of `folder` by `method`; returns a summary line.

    `identity`: the set's main person first, other people grouped at the end; with
    `trash_others` those other people's faces are moved to aligned_trash.
    """
    from tqdm import tqdm

    if method not in METHODS:
        raise UserError(f"unknown sort method {method!r}; use one of {', '.join(METHODS)}")
    folder = Path(folder)
    paths = list_faces(folder)
    if not paths:
        raise UserError("no face files to sort; run `python -m app extract` first", folder)
    faces, bad = [], []
    for path in tqdm(paths, desc=f"sort {method}", unit="face", disable=not progress):
        try:
            faces.append(face_features(path))
        except FaceFileError as exc:
            bad.append(path.name)
            print(f"skipped: {exc}")
    trashed: list[FaceInfo] = []
    note = ""
    if method == "final":
        faces, trashed = final_selection(faces, final_count or FINAL_COUNT)
    elif method == "one-face":
        faces, trashed = one_face_selection(faces)
    elif method == "identity":
        faces, others, note = _by_identity(faces, progress)
        if trash_others:
            faces, trashed, note = faces[:len(faces) - len(others)], others, ""
    else:
        faces = order(faces, method)
    if trashed:
        move_to_trash([f.path for f in trashed], folder)
    rename_in_order(folder, faces, set(bad))
    text = f"sorted {len(faces)} faces by {method} in {folder}"
    if trashed:
        text += f"; {len(trashed)} moved to {trash_dir(folder)}"
    if bad:
        text += f"; {len(bad)} unreadable files left as they were"
    if note:
        text += "\n" + note
    return text


def _by_identity(faces: list[FaceInfo], progress: bool) -> tuple[list, list, str]:
    """(all faces in identity order, the other people's faces, a line about them)."""
    from tqdm import tqdm

    from app.faceset.identity_sort import embed_face_file, identity_order
    from app.identity import SAME_PERSON

    emb = []
    for f in tqdm(faces, desc="identity", unit="face", disable=not progress):
        img, _ = read_face(f.path)
        emb.append(embed_face_file(img, f.meta.landmarks_array()))
    grouping = identity_order(np.array(emb).reshape(len(faces), -1), SAME_PERSON)
    ordered = [faces[i] for i in grouping.order]
    others = ordered[len(grouping.main):]
    if not others:
        return ordered, [], "every face is the same person"
    note = (f"{len(grouping.main)} faces of the set's main person first, then "
            f"{len(others)} faces of {len(grouping.others)} other people (from number "
            f"{len(grouping.main):05d}); `faceset sort --by identity --trash-others` moves "
            "those to aligned_trash")
    return ordered, others, note
