"""`mask apply` / `mask remove`: the trained mask network's masks written into the face files
(DeepFaceLab 2's "XSeg apply"), so masked training learns only the face the network sees (a
hand over the mouth is neither learned nor pasted) and merge's dst mask mode uses it too.

Each face is warped from its aligned image into the network's crop (its face type and size,
through the face's landmarks), masked, and the mask warped back to the aligned image, where it
is stored (app.faceset.face_masks). Only the metadata is rewritten (atomically); the pixels stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.extract.align import face_matrix
from app.faceset.face_file import FaceFileError, list_faces, read_face, read_meta, update_meta
from app.faceset.face_masks import encode_mask

BATCH = 16


@dataclass
class MaskReport:
    """What `apply_masks` / `remove_masks` did to a folder."""

    folder: Path
    changed: int = 0
    unchanged: int = 0
    failed: list = field(default_factory=list)  # error messages (each names its file)

    def lines(self, verb: str) -> list[str]:
        out = [f"{verb} {self.changed} faces in {self.folder}"
               + (f" ({self.unchanged} had none)" if self.unchanged else "")]
        out += [f"error: {why}" for why in self.failed]
        return out


def apply_masks(folder: Path, net, progress: bool = True) -> MaskReport:
    """Store `net`'s mask (an app.masknet.net.MaskNet) in every face file of `folder`."""
    from tqdm import tqdm

    report = MaskReport(folder)
    by = (f"mask network ({net.face_type} face, {net.resolution} px, "
          f"{net.info.get('steps', '?')} steps)")
    files = list_faces(folder)
    for start in tqdm(range(0, len(files), BATCH), desc="applying masks", unit="batch",
                      disable=not progress):
        batch = []
        for path in files[start:start + BATCH]:
            try:
                img, meta = read_face(path)
            except FaceFileError as e:
                report.failed.append(str(e))
                continue
            batch.append((path, img, meta))
        for (path, img, meta), mask in zip(batch, _predict(net, batch)):
            meta.learned_mask = encode_mask(mask, by)
            update_meta(path, meta)
            report.changed += 1
    return report


def _predict(net, batch: list) -> list[np.ndarray]:
    """Each face's mask in its own aligned image (float 0..1, the image's size)."""
    rn = net.resolution
    mats = [face_matrix(meta.landmarks_array(), rn, net.face_type) for _, _, meta in batch]
    crops = [cv2.warpAffine(img, m, (rn, rn), flags=cv2.INTER_AREA if img.shape[0] > rn
                            else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
             for (_, img, _), m in zip(batch, mats)]
    if not crops:
        return []
    masks = net.predict(np.stack(crops).astype(np.float32) / 255.0)
    return [cv2.warpAffine(mask, m, (img.shape[1], img.shape[0]),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0)
            for (_, img, _), m, mask in zip(batch, mats, masks)]


def remove_masks(folder: Path) -> MaskReport:
    """Take the stored masks out of every face file of `folder` (back to the landmark hull)."""
    report = MaskReport(folder)
    for path in list_faces(folder):
        try:
            meta = read_meta(path)
        except FaceFileError as e:
            report.failed.append(str(e))
            continue
        if meta.learned_mask is None:
            report.unchanged += 1
            continue
        meta.learned_mask = None
        update_meta(path, meta)
        report.changed += 1
    return report
