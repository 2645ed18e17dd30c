"""Put predicted faces back into one frame: masks, colour, blending mode (DeepFaceLab's
ConverterMasked, step by step).

All work for a face happens in a region of interest around it, so a face costs the same on a
360p frame and on a 4K one. Images are float32 BGR in 0..1; masks are HxW float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from app.extract.align import face_matrix, transform_points
from app import color_transfer as color
from app.merge import jitter, masks
from app.merge.sharpen import blur_sharpen
from app.merge.modes import MERGE_MODES
from app.merge.options import MergeOptions

_INV = cv2.WARP_INVERSE_MAP


@dataclass
class PredictedFace:
    """One face of a frame after inference: landmarks in frame pixels, the model's output
    (upscaled when super resolution is on) and the model's learned mask, both S x S."""

    landmarks: np.ndarray
    face: np.ndarray
    mask: np.ndarray
    #: the mask editor's polygons in frame pixels, and "include"/"exclude" per polygon
    polygons: list = field(default_factory=list)
    polygon_modes: list = field(default_factory=list)
    #: the learned mask `mask apply` stored in the dst face file (uint8, aligned image) and its
    #: aligned -> frame matrix (app.merge.dst_inputs.DstFace); the dst mask mode uses it
    area: np.ndarray | None = None
    area_to_frame: np.ndarray | None = None
    #: the Poisson blend level (mean added per channel) to blend with, smoothed over the
    #: neighbouring frames (app.merge.jitter); None blends as is
    seamless_target: np.ndarray | None = None
    #: the factor super resolution upscaled `face` by (1: the model's own output)
    upscaled: int = 1


@dataclass
class MergedFrame:
    image: np.ndarray                      # HxWx3 or HxWx4 float32 0..1
    stages: list = field(default_factory=list)  # (name, image) when debugging


def placement(face: PredictedFace, face_type: str, scale: float = 1.0) -> np.ndarray:
    """The frame -> `face.face` matrix. An upscaled face is not just the model's matrix at k
    times the size: upscalers (cv2.resize, the x2 network over it) keep pixel centres, so the
    model's pixel x lands at k*x + (k-1)/2, half a pixel on at x2. Pasted without that, the
    upscaled face sat half a pixel up and left of where the model put it."""
    mat = face_matrix(face.landmarks, face.face.shape[0], face_type, scale=scale)
    mat[:, 2] += (face.upscaled - 1) / 2
    return mat


def _shift(mat: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """The same frame->face matrix for coordinates relative to (x0, y0)."""
    out = np.array(mat, np.float64)
    out[:, 2] += out[:, :2] @ np.array([x0, y0], np.float64)
    return out


def _roi(out_mat: np.ndarray, size: int, shape: tuple) -> tuple[int, int, int, int]:
    """Frame box holding the pasted face square plus room for dilation and blur."""
    corners = transform_points(np.array([[0, 0], [size, 0], [size, size], [0, size]], float),
                               out_mat, invert=True)
    lo, hi = corners.min(0), corners.max(0)
    pad = 0.25 * float((hi - lo).max()) + 4
    h, w = shape[:2]
    x0, y0 = max(0, int(lo[0] - pad)), max(0, int(lo[1] - pad))
    x1, y1 = min(w, int(np.ceil(hi[0] + pad))), min(h, int(np.ceil(hi[1] + pad)))
    return x0, y0, max(x0, x1), max(y0, y1)


def _paste(face: np.ndarray, mat: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Warp an S x S face into `base` (a copy is returned) with the frame->face matrix `mat`."""
    out = base.copy()
    cv2.warpAffine(face, mat, (base.shape[1], base.shape[0]), dst=out,
                   flags=cv2.INTER_CUBIC | _INV, borderMode=cv2.BORDER_TRANSPARENT)
    return np.clip(out, 0, 1)


def _unwarp_mask(mask: np.ndarray, mat: np.ndarray, shape: tuple) -> np.ndarray:
    out = cv2.warpAffine(mask, mat, (shape[1], shape[0]), flags=cv2.INTER_LINEAR | _INV,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    out = np.clip(out, 0, 1)
    out[out <= masks.NOISE_FLOOR] = 0
    return out


def seamless_clone(face_img: np.ndarray, background: np.ndarray, mask_u8: np.ndarray | None,
                   over_res: int = 1) -> np.ndarray:
    """Poisson-blend `face_img` into `background` inside `mask_u8` (same-size images).

    The clone centre is the mask's bounding-box centre as OpenCV computes it, so the face is not
    shifted by a rounding pixel. `over_res` > 1 solves at a higher resolution, which quantises
    the mask edge finer and so suppresses frame-to-frame jitter of the blend (slower).
    """
    if mask_u8 is None or not mask_u8.any():
        return face_img
    src, dst, m = face_img, background, mask_u8
    if over_res > 1:
        size = (face_img.shape[1] * over_res, face_img.shape[0] * over_res)
        src = cv2.resize(src, size, interpolation=cv2.INTER_CUBIC)
        dst = cv2.resize(dst, size, interpolation=cv2.INTER_CUBIC)
        m = (cv2.resize(m, size, interpolation=cv2.INTER_LINEAR) > 127).astype(np.uint8) * 255
    # OpenCV needs a frame of background pixels around the mask for the boundary condition
    m = m.copy()
    m[:1], m[-1:], m[:, :1], m[:, -1:] = 0, 0, 0, 0
    if not m.any():
        return face_img
    x, y, w, h = cv2.boundingRect(m)
    try:
        out = cv2.seamlessClone(_u8(src), _u8(dst), m, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)
    except cv2.error:
        return face_img
    out = out.astype(np.float32) / 255.0
    if over_res > 1:
        out = cv2.resize(out, (face_img.shape[1], face_img.shape[0]), interpolation=cv2.INTER_AREA)
    return out


def _translated(mat: np.ndarray | None, by: np.ndarray) -> np.ndarray | None:
    """A 2x3 matrix whose output is moved by `by` (None stays None)."""
    if mat is None:
        return None
    out = np.array(mat, np.float64)
    out[:, 2] += by
    return out


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def face_mask(face: PredictedFace, opts: MergeOptions, face_mat: np.ndarray) -> np.ndarray:
    """The S x S mask chosen by the mask mode, with the mask editor's polygons applied.

    dst mode: the landmark hull, then each polygon in drawing order fills (include) or cuts out
    (exclude), as DeepFaceLab's ie_polys did on the dst hull. learned mode: the model's mask
    with the exclude polygons cut out (what the user marked as an obstruction, e.g. a hand or a
    microphone, is never covered); includes only extend the dst hull.
    """
    size = face.face.shape[0]
    if opts.mask_mode == "dst":
        mask = dst_area(face, face_mat, size)
        polys, modes = face.polygons, face.polygon_modes
    else:
        mask = np.asarray(face.mask, np.float32).reshape(size, size)
        mask = np.where(mask < 0.001, 0.0, np.clip(mask, 0, 1)).astype(np.float32)
        keep = [k for k, m in enumerate(face.polygon_modes) if m == "exclude"]
        polys = [face.polygons[k] for k in keep if k < len(face.polygons)]
        modes = ["exclude"] * len(polys)
    if polys:
        from app.faceset.mask_polygons import apply_polygons

        mask = apply_polygons(np.ascontiguousarray(mask), polys, modes, transform=face_mat)
    return mask


def dst_area(face: PredictedFace, face_mat: np.ndarray, size: int) -> np.ndarray:
    """The dst face's own area in the S x S face square: its learned mask (`mask apply`)
    where the face file has one, else the landmark hull."""
    if face.area is None:
        return masks.hull_mask((size, size), transform_points(face.landmarks, face_mat))
    a, m = np.asarray(face.area_to_frame, np.float64), np.asarray(face_mat, np.float64)
    to_face = np.hstack([m[:, :2] @ a[:, :2], (m[:, :2] @ a[:, 2] + m[:, 2])[:, None]])
    return cv2.warpAffine(face.area, to_face, (size, size), flags=cv2.INTER_LINEAR,
                          borderValue=0).astype(np.float32) / 255.0


def merge_face(frame: np.ndarray, canvas: np.ndarray, alpha: np.ndarray, face: PredictedFace,
               opts: MergeOptions, face_type: str, stages: list | None = None,
               probe: bool = False) -> np.ndarray | None:
    """Merge one face into `canvas` (and its mask into `alpha`) in place.

    `frame` is the untouched dst frame (colour statistics come from it), `canvas` the output so
    far (several faces are merged one after another). Returns the Poisson blend level where it
    was measured (`probe`: measure it and stop there, leaving `canvas` as it was).
    """
    size = face.face.shape[0]
    face_mat = placement(face, face_type)
    out_mat = placement(face, face_type, scale=1.0 + 0.01 * opts.output_face_scale)
    x0, y0, x1, y1 = _roi(out_mat, size, frame.shape)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return  # the face is outside the frame
    fm, om = _shift(face_mat, x0, y0), _shift(out_mat, x0, y0)
    region = canvas[y0:y1, x0:x1, :3]
    dst_face = cv2.warpAffine(frame, face_mat, (size, size), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REPLICATE)
    prd = np.clip(face.face, 0, 1).astype(np.float32)
    mask_s = face_mask(face, opts, face_mat)
    img_mask = _unwarp_mask(mask_s, om, region.shape)
    _stage(stages, "dst_face", dst_face)
    _stage(stages, "predicted_face", prd)
    _stage(stages, "mask", img_mask)
    if opts.is_raw:
        _raw(region, alpha[y0:y1, x0:x1], prd, img_mask, om, opts.raw_mode)
        return
    extent = masks.face_extent(img_mask)
    if extent == 0:
        return
    blurry = masks.erode_blur(img_mask, opts.erode_mask_modifier, 0, extent)
    if opts.clip_hborder_mask_per:  # DFL: clip the border before the blur
        blurry = blurry * masks.border_clip(size, opts.clip_hborder_mask_per, om, region.shape)
        _stage(stages, "mask_border_clipped", blurry)
    blurry = masks.erode_blur(blurry, 0, opts.blur_mask_modifier, extent)
    _stage(stages, "mask_eroded_blurred", blurry)
    mode = MERGE_MODES[opts.mode]
    seamless = bool(mode.info.get("seamless"))
    if not seamless and opts.color_transfer != "none":
        prd = color.color_transfer(opts.color_transfer, prd, dst_face, mask_s, mask_s)
        _stage(stages, f"color_{opts.color_transfer}", prd)
    if opts.blursharpen_amount:
        prd = blur_sharpen(prd, opts.sharpen_mode, opts.blursharpen_amount)
        _stage(stages, f"{opts.sharpen_mode}_{opts.blursharpen_amount}", prd)
    prd = np.asarray(mode.fn(prd, dst_face, mask_s, opts), np.float32)
    if mode.info.get("hist_match"):
        _stage(stages, "hist_matched", prd)
    out = _paste(prd, om, region)
    _stage(stages, "pasted", out)
    level = None
    if seamless:
        hard = masks.seamless_mask(blurry)
        # jitter suppression also solves at 2x: a finer mask edge shakes less (4x costs 4x more
        # again for a mixed gain on the sample), then app.merge.jitter evens the level over frames
        cloned = seamless_clone(out, region, hard, 2 if opts.suppress_seamless_jitter else 1)
        if hard is not None and (probe or face.seamless_target is not None):
            level = jitter.poisson_offset(cloned, out, hard)
            if probe:
                return level
            cloned = jitter.shift_level(cloned, hard, face.seamless_target - level, extent)
        out = cloned
        _stage(stages, "seamless", out)
    elif probe:
        return None
    b = blurry[..., None]
    out = region * (1 - b) + out * b
    if seamless and opts.color_transfer != "none":
        out = _refit(out, region, b, fm, size, lambda f, m: color.color_transfer(
            opts.color_transfer, f, dst_face, m, m))
        _stage(stages, f"seamless_color_{opts.color_transfer}", out)
    if seamless and opts.seamless_hist_match:
        out = _refit(out, region, b, fm, size, lambda f, m: color.hist_match(
            f, dst_face, opts.hist_match_threshold, m if opts.masked_hist_match else None))
        _stage(stages, "seamless_hist_matched", out)
    canvas[y0:y1, x0:x1, :3] = np.clip(out, 0, 1)
    np.maximum(alpha[y0:y1, x0:x1], blurry, out=alpha[y0:y1, x0:x1])
    return level


def _refit(out: np.ndarray, region: np.ndarray, b: np.ndarray, fm: np.ndarray, size: int,
           fn) -> np.ndarray:
    """Re-extract the blended face, recolour it with `fn(face, mask)`, paste it back."""
    face_now = cv2.warpAffine(out, fm, (size, size), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REPLICATE)
    mask_now = cv2.warpAffine(b[..., 0], fm, (size, size), flags=cv2.INTER_LINEAR)
    new = _paste(np.clip(fn(face_now, mask_now), 0, 1).astype(np.float32), fm, region)
    return np.clip(region * (1 - b) + new * b, 0, 1)


def _raw(region: np.ndarray, alpha: np.ndarray, prd: np.ndarray, img_mask: np.ndarray,
         om: np.ndarray, raw_mode: str) -> None:
    """Raw layers for compositing elsewhere: the face square, its mask, or both."""
    if raw_mode in ("rgb", "rgb-mask", "predicted-only"):
        region[:] = _paste(prd, om, region)
    if raw_mode in ("rgb-mask", "mask-only"):
        np.maximum(alpha, img_mask, out=alpha)
    if raw_mode == "mask-only":
        region[:] = alpha[..., None]


def _stage(stages: list | None, name: str, image: np.ndarray) -> None:
    if stages is not None:
        stages.append((name, np.array(image, np.float32)))


def merge_frame(frame_u8: np.ndarray, faces: list[PredictedFace], opts: MergeOptions,
                face_type: str) -> MergedFrame:
    """The merged frame for `opts` (HxWx4 when the output carries an alpha channel)."""
    frame = frame_u8.astype(np.float32) / 255.0
    black = opts.is_raw and opts.raw_mode in ("mask-only", "predicted-only")
    canvas = np.zeros_like(frame) if black else frame.copy()
    alpha = np.zeros(frame.shape[:2], np.float32)
    stages: list | None = [] if opts.debug else None
    for face in faces:
        merge_face(frame, canvas, alpha, face, opts, face_type, stages)
    if not opts.is_raw and opts.color_degrade_power:
        reduced = color.reduce_colors(canvas, 256)
        p = opts.color_degrade_power / 100.0
        canvas = canvas * (1 - p) + reduced * p
    if wants_alpha(opts):
        canvas = np.concatenate([canvas, alpha[..., None]], axis=-1)
    _stage(stages, "result", canvas)
    return MergedFrame(np.clip(canvas, 0, 1), stages or [])


def merge_frame_u8(frame_u8: np.ndarray, faces: list[PredictedFace], opts: MergeOptions,
                   face_type: str) -> np.ndarray:
    """The merged frame as written (uint8, HxWx4 with alpha): `merge_frame` run on the box
    around the faces only, pasted into the frame, so a face costs the same on a 4K frame as on a
    small one (the full-frame float copies cost more than the face on large frames). Differs
    from converting `merge_frame`'s image by float rounding at most (the matrices are fitted to
    shifted landmarks). Debug and colour degrade (which quantises the whole frame) take the
    full frame."""
    h, w = frame_u8.shape[:2]
    box = None if opts.debug or (not opts.is_raw and opts.color_degrade_power) \
        else _faces_box(faces, opts, face_type, (h, w))
    if box is None:
        return _u8(merge_frame(frame_u8, faces, opts, face_type).image)
    x0, y0, x1, y1 = box
    off = np.array([x0, y0], np.float64)
    moved = [replace(f, landmarks=np.asarray(f.landmarks, np.float64) - off,
                     polygons=[np.asarray(q, np.float64) - off for q in f.polygons],
                     area_to_frame=_translated(f.area_to_frame, -off))
             for f in faces]
    crop = _u8(merge_frame(frame_u8[y0:y1, x0:x1], moved, opts, face_type).image)
    black = opts.is_raw and opts.raw_mode in ("mask-only", "predicted-only")
    out = np.zeros((h, w, crop.shape[2]), np.uint8)
    if not black:
        out[..., :3] = frame_u8
    out[y0:y1, x0:x1] = crop
    return out


def _faces_box(faces: list[PredictedFace], opts: MergeOptions, face_type: str,
               shape: tuple) -> tuple[int, int, int, int] | None:
    """Frame box holding every face's work area (its pasted square with room for erode and
    blur, and the dst face square it samples, with a margin for cubic interpolation)."""
    boxes = []
    for face in faces:
        size = face.face.shape[0]
        for scale in (1.0, 1.0 + 0.01 * opts.output_face_scale):
            boxes.append(_roi(placement(face, face_type, scale), size, shape))
    if not boxes:
        return None
    b = np.array(boxes)
    x0, y0 = max(0, int(b[:, 0].min()) - 8), max(0, int(b[:, 1].min()) - 8)
    x1, y1 = min(shape[1], int(b[:, 2].max()) + 8), min(shape[0], int(b[:, 3].max()) + 8)
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


def probe_levels(frame_u8: np.ndarray, faces: list[PredictedFace], opts: MergeOptions,
                 face_type: str) -> list:
    """The Poisson blend level of each face of a frame (None where there is none): the
    probe pass of the jitter suppression, which stops each face right after its blend."""
    frame = frame_u8.astype(np.float32) / 255.0
    alpha = np.zeros(frame.shape[:2], np.float32)
    return [merge_face(frame, frame, alpha, face, opts, face_type, probe=True) for face in faces]


def wants_alpha(opts: MergeOptions) -> bool:
    """True when the written frames are BGRA PNGs."""
    return (opts.export_alpha and not opts.is_raw) or (opts.is_raw and opts.raw_mode == "rgb-mask")
