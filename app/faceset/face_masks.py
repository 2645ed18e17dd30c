"""A face's mask in its aligned image, defined once for training, merging and the mask editor.

Where `mask apply` stored a learned raster mask in the face file (DeepFaceLab 2's "XSeg apply",
or DFL's own XSeg mask carried over by `faceset import-dfl`), that mask is the face's area;
otherwise the convex hull of the 68 landmarks is. The mask editor's polygons then fill in or
cut out over it, in drawing order (app.faceset.mask_polygons), so a hand the user marked stays
out whatever the network thought.

The raster mask is stored as a grayscale PNG (base64 in the JSON metadata, format version 2):
masks are mostly flat, so a 256 px mask takes a few kilobytes.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np

from app.faceset.face_file import FaceFileError, FaceMeta
from app.faceset.mask_polygons import apply_polygons, hull_mask


def encode_mask(mask: np.ndarray, by: str) -> dict:
    """The `learned_mask` field for an HxW mask in 0..1 (float) or 0..255 (uint8)."""
    import cv2

    m = np.asarray(mask)
    if m.dtype != np.uint8:
        m = np.clip(np.asarray(m, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".png", m, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise ValueError("could not encode the mask")
    return {"png": base64.b64encode(buf.tobytes()).decode("ascii"), "by": str(by)}


def decode_mask(meta: FaceMeta, shape: tuple[int, int] | None = None,
                path: object = None) -> np.ndarray | None:
    """The stored raster mask as uint8 0..255 at `shape` (H, W; None: as stored, which is the
    aligned image's size), or None when there is none. A mask that does not decode is a
    FaceFileError naming the file (`mask remove` fixes it)."""
    import cv2

    field = meta.learned_mask
    if not field:
        return None
    try:
        data = base64.b64decode(field["png"], validate=True)
    except (binascii.Error, ValueError):
        data = b""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) if data else None
    if img is None or img.size == 0:
        raise FaceFileError("its learned mask is damaged; run `python -m app mask remove` on "
                            "its folder (or apply the mask again)", path)
    if shape is not None and img.shape[:2] != tuple(shape):
        img = cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return img


def aligned_face_mask(meta: FaceMeta, shape: tuple[int, int], on: float | int = 1,
                      dtype=np.float32, learned: bool = True, path: object = None) -> np.ndarray:
    """The face's mask in its aligned image (`shape` = the image's H, W): the learned raster
    mask where one is stored (unless `learned` is False), else the landmark hull; the mask
    editor's polygons applied over it. Values 0..`on`."""
    raster = decode_mask(meta, shape, path) if learned else None
    if raster is None:
        mask = hull_mask(meta.landmarks_array(), shape, on, dtype)
    else:
        mask = (raster.astype(np.float32) * (float(on) / 255.0)).astype(dtype)
    return apply_polygons(mask, meta.mask_polygons, meta.mask_polygon_modes, on=on)
