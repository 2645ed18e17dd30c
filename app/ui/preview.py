"""The training preview: DeepFaceLab's grid and loss graph, drawn with numpy and OpenCV only.

Rows are samples; columns are src, src->src, dst, dst->dst, dst->src. Above them, the loss
history (src blue-ish, dst orange-ish, as DFL draws it) and a caption with the iteration.
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

from app import ALTERED_MEDIA_LABEL

COLUMNS = ("src", "src->src", "dst", "dst->dst", "dst->src")
MIN_CELL = 128
_LINE_COLOURS = [(255, 180, 0), (0, 160, 255), (120, 255, 120), (200, 120, 255)]


def _hwc_u8(nchw: np.ndarray) -> np.ndarray:
    # a diverged network's faces are NaN: shown black, not cast to whatever the CPU gives
    x = np.clip(np.nan_to_num(np.asarray(nchw, np.float32)), 0, 1).transpose(0, 2, 3, 1)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return (x * 255 + 0.5).astype(np.uint8)


def render_grid(columns: list[np.ndarray]) -> np.ndarray:
    """Columns of NCHW 0..1 images (same N and size) -> one BGR uint8 grid, one sample a row."""
    cols = [_hwc_u8(c) for c in columns]
    size = cols[0].shape[1]
    if size < MIN_CELL:      # small models: enlarge so faces (and the labels) stay readable
        f = -(-MIN_CELL // size)
        cols = [c.repeat(f, axis=1).repeat(f, axis=2) for c in cols]
    rows = [np.concatenate([c[i] for c in cols], axis=1) for i in range(cols[0].shape[0])]
    return np.concatenate(rows, axis=0)


def render_loss_graph(history: list[list[float]], width: int, height: int = 100) -> np.ndarray:
    """Loss curves (one per column of `history`) over the whole run, scaled to the max."""
    img = np.full((height, width, 3), 32, np.uint8)
    if not history:
        return img
    h = np.asarray(history, np.float64)
    n = len(h)
    # average into at most `width` buckets so long histories still draw one value per pixel
    edges = np.linspace(0, n, min(n, width) + 1).astype(int)
    buckets = np.stack([h[a:max(b, a + 1)].mean(0) for a, b in zip(edges[:-1], edges[1:])])
    top = float(np.nanmax(buckets)) or 1.0
    xs = np.linspace(0, width - 1, len(buckets))
    for k in range(buckets.shape[1]):
        ys = (height - 1) - buckets[:, k] / top * (height - 8)
        pts = np.stack([xs, ys], 1).round().astype(np.int32)
        cv2.polylines(img, [pts], False, _LINE_COLOURS[k % len(_LINE_COLOURS)], 1, cv2.LINE_AA)
    return img


def render_preview(src: np.ndarray, src_src: np.ndarray, dst: np.ndarray, dst_dst: np.ndarray,
                   dst_src: np.ndarray, history: list[list[float]], caption: str) -> np.ndarray:
    """The whole preview image (BGR uint8): caption, loss graph, header, grid."""
    grid = render_grid([src, src_src, dst, dst_dst, dst_src])
    w = grid.shape[1]
    cell = w // len(COLUMNS)
    header = np.full((18, w, 3), 16, np.uint8)
    for i, name in enumerate(COLUMNS):
        cv2.putText(header, name, (i * cell + 4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (230, 230, 230), 1, cv2.LINE_AA)
    title = np.full((20, w, 3), 0, np.uint8)
    cv2.putText(title, caption, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                cv2.LINE_AA)
    graph = render_loss_graph(history, w, max(60, min(140, w // 5)))
    return np.concatenate([title, graph, header, grid], axis=0)


def encode_png(img_bgr: np.ndarray) -> bytes:
    """PNG bytes with the altered-media label in a tEXt chunk (previews show swapped faces)."""
    ok, buf = cv2.imencode(".png", img_bgr)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    data = buf.tobytes()
    body = b"Comment\0" + ALTERED_MEDIA_LABEL.encode("latin-1", "replace")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF)
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end] + chunk + data[ihdr_end:]
