"""What merge reads from the dst side: the frames, and each frame's aligned faces (source-frame
landmarks and the mask editor's polygons mapped into the frame)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.frame_files import FRAME_EXTS, list_frames  # noqa: F401 (merge reads the frames)


@dataclass
class DstFace:
    """One aligned dst face as merge needs it: source-frame landmarks, and the mask editor's
    polygons mapped into the frame (with their include/exclude modes)."""

    landmarks: np.ndarray
    polygons: list = field(default_factory=list)
    polygon_modes: list = field(default_factory=list)
    #: the learned mask `mask apply` stored (uint8, aligned image) and its aligned -> frame
    #: matrix; None: the landmark hull is the face's area
    area: np.ndarray | None = None
    area_to_frame: np.ndarray | None = None
    #: the fingerprint of the frame it was taken from ("" in older face files)
    source_digest: str = ""


def dst_faces_by_frame(aligned_dir: Path) -> dict[str, list[DstFace]]:
    """Every aligned dst face with its mask polygons, grouped by the frame it came from.

    Damaged face files raise a UserError naming the file before any frame is written.
    """
    from app.extract.align import invert_affine
    from app.faceset.face_file import list_faces, read_meta
    from app.faceset.face_masks import decode_mask

    grouped: dict[str, list[DstFace]] = {}
    for path in list_faces(aligned_dir):
        meta = read_meta(path)
        to_frame = np.asarray(invert_affine(meta.matrix()), np.float64)
        polys = [np.asarray(p, np.float64).reshape(-1, 2) @ to_frame[:, :2].T + to_frame[:, 2]
                 for p in meta.mask_polygons]
        modes = list(meta.mask_polygon_modes or ["include"] * len(polys))
        area = decode_mask(meta, path=path)
        grouped.setdefault(Path(meta.source_filename).name, []).append(
            DstFace(meta.source_landmarks_array(), polys, modes, area,
                    to_frame if area is not None else None, meta.source_digest))
    return grouped


def check_faces_against_frames(faces: dict[str, list[DstFace]], frames: list[Path],
                               aligned_dir: Path) -> None:
    """Before merging: a face taken from another frame of the same name (a new dst video
    extracted over the old one, faces not extracted again) is a UserError, since its landmarks
    would put the face in the wrong place; faces whose frame is gone are named in a note (they
    used to be skipped without a word)."""
    from app.extract.frame_digest import frame_digest

    by_name = {f.name: f for f in frames}
    stale = sorted(name for name, group in faces.items() if name in by_name and any(
        f.source_digest and f.source_digest != frame_digest(by_name[name]) for f in group))
    if stale:
        shown = ", ".join(stale[:5]) + (" ..." if len(stale) > 5 else "")
        raise UserError(f"the faces of {len(stale)} frames were taken from other frames of the "
                        f"same names ({shown}): the dst video changed. Run `python -m app "
                        "extract dst` again (it redoes those faces), then merge", aligned_dir)
    orphans = sorted(name for name in faces if name not in by_name)
    if orphans:
        n = sum(len(faces[name]) for name in orphans)
        shown = ", ".join(orphans[:5]) + (" ..." if len(orphans) > 5 else "")
        print(f"note: {n} faces in {aligned_dir} come from frames that are not in the dst frames "
              f"folder ({shown}); they are not merged. Extract the dst faces again if the frames "
              "changed")


def faces_by_frame(aligned_dir: Path) -> dict[str, list[np.ndarray]]:
    """Source landmarks of every aligned dst face, grouped by the frame they came from."""
    return {k: [f.landmarks for f in v] for k, v in dst_faces_by_frame(aligned_dir).items()}


def _as_dst_face(face) -> DstFace:
    """`merge_frames` takes landmarks arrays or DstFaces."""
    return face if isinstance(face, DstFace) else DstFace(np.asarray(face, np.float64))
