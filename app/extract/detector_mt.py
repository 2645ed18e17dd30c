"""`mt`: MTCNN, DeepFaceLab 1.0's "MT" detector (P-net pyramid, R-net, O-net).

The nets (app/extract/mtcnn_nets.py) run on the engine layer API: torch on the CPU or a GPU
(CUDA/ROCm/XPU/MPS; the device follows FACESTUDIO_DEVICE and `python -m app devices`), or the
OpenCL engine (`MTDetector(engine="opencl")`). The weights ship in the repository
(app/extract/weights/mtcnn.safetensors, MIT), so every build has this detector.

The cascade, as in the paper and facenet-pytorch: the frame, scaled to at most MAX_SIDE, is
searched by P-net at a pyramid of scales (each 0.709 of the last, from the one that brings
MIN_FACE pixels to its 12 px window); its windows above the first threshold are merged by
non-maximum suppression, moved by the regressed offsets and made square; R-net re-scores
24x24 crops of them and O-net 48x48 crops, each stage regressing the box again; O-net also
gives five points. `detect_many` runs frames of one size together (one batch per pyramid
scale, one for all R-net crops, one for all O-net crops): what a GPU wants.

What the 68-point fit gets (see app/extract/detectors.py): the O-net box is mapped to the
HOG geometry the predictor was trained on (WIDTH_RATIO, DOWN_SHIFT below) and its eye points
give the roll, which the fit undoes (and keeps: O-net's roll beats the fit's own eye line on
turned faces, see Landmarker.fit).
"""

from __future__ import annotations

import multiprocessing

import cv2
import numpy as np

from app.extract.detectors import Box, box_from_five_points

#: frames are searched with their longer side at most this (as the yunet detector)
MAX_SIDE = 640
#: smallest face searched for, in pixels of the searched image (3% of a 640 px side)
MIN_FACE = 20
#: pyramid step (MTCNN's paper; DeepFaceLab 1.0 used 0.95 on 1920 px frames, ~10x slower)
FACTOR = 0.709
#: face probability needed after P-, R- and O-net (DeepFaceLab 1.0's MT values)
THRESHOLDS = (0.7, 0.85, 0.6)
#: O-net box -> HOG box, measured on 56 faces both found (London, Lisa and single photos, frames
#: of pexels, intel, group3 and two GRID clips): HOG width = 1.10 x the O-net box width (sd
#: 0.10; that box is 1.35x taller than wide), centre 0.074 HOG widths lower (sd 0.04), no
#: horizontal shift (0.02, sd 0.05)
WIDTH_RATIO, DOWN_SHIFT = 1.10, 0.074

#: frames per batch when the nets run on a GPU or OpenCL device (extraction's detect_many)
GPU_BATCH = 16

#: the registry's declaration (app/registry.py reads it without importing this module)
DETECTOR = {"name": "mt", "order": 25,
            "help": "MTCNN, DeepFaceLab 1.0's MT: turned and tilted faces; runs on a torch "
                    "GPU or OpenCL, every build",
            "class": "MTDetector"}


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices kept by non-maximum suppression at IoU `threshold`, best score first (OpenCV's)."""
    if len(boxes) == 0:
        return np.zeros(0, int)
    rects = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in boxes]
    keep = cv2.dnn.NMSBoxes(rects, [float(s) for s in scores], 0.0, threshold)
    return np.asarray(keep, int).reshape(-1)


def square(boxes: np.ndarray) -> np.ndarray:
    """Each box made square about its centre (side = its longer side)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + (w - side) / 2
    out[:, 1] = boxes[:, 1] + (h - side) / 2
    out[:, 2], out[:, 3] = out[:, 0] + side, out[:, 1] + side
    return out


def regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Boxes moved by the nets' offsets (fractions of the box width/height per edge)."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return boxes[:, :4] + offsets * np.stack([w, h, w, h], 1)


def crops(img: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """`size` x `size` crops of the boxes (black outside the image), [n, size, size, 3] uint8."""
    H, W = img.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(np.round(boxes[:, :4]).astype(int)):
        x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
        patch = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, W), min(y2, H)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = img[sy1:sy2, sx1:sx2]
        interp = cv2.INTER_AREA if x2 - x1 > size else cv2.INTER_LINEAR
        out[i] = cv2.resize(patch, (size, size), interpolation=interp)
    return out


def to_input(rgb: np.ndarray) -> np.ndarray:
    """[n, h, w, 3] uint8 RGB -> the nets' NCHW float input, (pixel - 127.5) / 128."""
    return np.ascontiguousarray((rgb.astype(np.float32) - 127.5) * 0.0078125).transpose(0, 3, 1, 2)


def pyramid(h: int, w: int) -> list[float]:
    """Scales at which P-net's 12 px window covers faces from MIN_FACE px up to the frame."""
    scale, side, out = 12.0 / MIN_FACE, min(h, w) * 12.0 / MIN_FACE, []
    while side >= 12:
        out.append(scale)
        scale *= FACTOR
        side *= FACTOR
    return out


def _one_thread_in_workers() -> None:
    """Extraction runs one worker process per core: torch's own threads there only contend."""
    if multiprocessing.current_process().name != "MainProcess":
        import torch
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)


class MTDetector:
    """MTCNN on the engine layer API. `engine`: "torch" (default) or "opencl"; `device`: the
    engine's device (torch: "cpu", "cuda:0", ...; None: FACESTUDIO_DEVICE or the best GPU, else
    the CPU). On the CPU the engine is made here (extraction's forked workers share it); on a
    GPU at the first frame, so each worker makes its own (a CUDA context does not survive a
    fork)."""

    name = "mt"

    def __init__(self, engine: str = "torch", device: str | None = None):
        self.engine_name, self.device = engine, device
        self._eng = self._model = None
        if engine == "torch" and device is None:
            from backends.devices import choose
            self.device = choose(None).devices[0].torch_device or "cpu"
        on_cpu = self.engine_name == "torch" and str(self.device) == "cpu"
        #: frames extraction hands to `detect_many` at once: a GPU wants batches, the CPU
        #: workers one frame each (the same work either way there)
        self.batch_frames = 1 if on_cpu else GPU_BATCH
        if on_cpu:
            self._engine()

    # ---- nets -------------------------------------------------------------------------------
    def _engine(self):
        if self._eng is None:
            from app.extract.mtcnn_nets import load_engine
            self._eng, self._model = load_engine(self.engine_name, self.device)
        return self._eng, self._model

    def _run(self, net: str, x: np.ndarray) -> tuple[np.ndarray, ...]:
        """One net on a batch; OpenCL batches are padded to a power of two so that tinygrad
        compiles a handful of kernel shapes, not one per crop count."""
        eng, model = self._engine()
        if self.engine_name == "torch" and str(self.device) == "cpu":
            _one_thread_in_workers()
        n = len(x)
        if self.engine_name == "opencl" and net != "pnet":
            size = 1 << max(3, (n - 1).bit_length())
            x = np.concatenate([x, np.zeros((size - n,) + x.shape[1:], np.float32)])
        out = eng.predict(lambda F, P, b: getattr(model, net)(F, P, b["x"]), {"x": x})
        return tuple(o[:n] for o in out)

    # ---- cascade ----------------------------------------------------------------------------
    def detect(self, img: np.ndarray, hint: float | None = None) -> list[Box]:
        """Faces of one BGR (or gray) frame, HOG-geometry boxes in frame pixels."""
        return self.detect_many([img])[0]

    def detect_many(self, frames: list[np.ndarray]) -> list[list[Box]]:
        """Faces of several frames of one size, run as batches."""
        if not frames:
            return []
        raw = self.raw_many(frames)
        return [[box_from_five_points(tuple(b[:4]), p, b[4], WIDTH_RATIO, DOWN_SHIFT,
                                      refit=False)
                 for b, p in zip(boxes, points)] for boxes, points in raw]

    def raw_many(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """O-net's own output per frame: boxes [n, 5] (x1, y1, x2, y2, score) and five points
        [n, 5, 2] (eyes, nose, mouth corners), frame pixels."""
        rgb = [cv2.cvtColor(f, cv2.COLOR_GRAY2RGB if f.ndim == 2 else cv2.COLOR_BGR2RGB)
               for f in frames]
        scale = min(1.0, MAX_SIDE / max(rgb[0].shape[:2]))
        if scale < 1.0:
            rgb = [cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                   for f in rgb]
        found = self._stage_r(rgb, self._stage_p(rgb))
        found = self._stage_o(rgb, found)
        return [(b / np.array([scale] * 4 + [1.0]), p / scale) for b, p in found]

    def _stage_p(self, rgb: list[np.ndarray]) -> list[np.ndarray]:
        """P-net over the pyramid: per frame, candidate squares [n, 5]."""
        h, w = rgb[0].shape[:2]
        per_frame: list[list[np.ndarray]] = [[] for _ in rgb]
        for s in pyramid(h, w):
            size = (int(w * s + 1), int(h * s + 1))
            batch = to_input(np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA)
                                       for f in rgb]))
            prob, offsets = self._run("pnet", batch)
            for i in range(len(rgb)):
                ys, xs = np.nonzero(prob[i, 0] >= THRESHOLDS[0])
                if len(ys) == 0:
                    continue
                cells = np.stack([xs, ys, xs, ys], 1).astype(np.float64)
                boxes = (cells * 2 + np.array([0, 0, 12, 12])) / s
                cand = np.column_stack([boxes, prob[i, 0, ys, xs], offsets[i, :, ys, xs]])
                per_frame[i].append(cand[nms(cand[:, :4], cand[:, 4], 0.5)])
        out = []
        for cands in per_frame:
            if not cands:
                out.append(np.zeros((0, 5)))
                continue
            c = np.concatenate(cands)
            c = c[nms(c[:, :4], c[:, 4], 0.7)]
            out.append(np.column_stack([square(regress(c[:, :4], c[:, 5:9])), c[:, 4]]))
        return out

    def _refine(self, rgb, found, net: str, size: int, threshold: float):
        """Crops of every frame's boxes through `net` in one batch: (frame index, box,
        probability, offsets, rest) of the crops above `threshold`."""
        idx = np.concatenate([np.full(len(b), i) for i, b in enumerate(found)]).astype(int)
        boxes = np.concatenate(found) if len(idx) else np.zeros((0, 5))
        if not len(idx):
            return idx, boxes, np.zeros(0), np.zeros((0, 4)), None
        x = to_input(np.concatenate([crops(rgb[i], found[i], size) for i in range(len(rgb))
                                     if len(found[i])]))
        out = self._run(net, x)
        keep = out[0][:, 0] > threshold
        rest = out[2][keep] if len(out) > 2 else None
        return idx[keep], boxes[keep], out[0][keep, 0], out[1][keep], rest

    def _stage_r(self, rgb, found: list[np.ndarray]) -> list[np.ndarray]:
        idx, boxes, prob, offsets, _ = self._refine(rgb, found, "rnet", 24, THRESHOLDS[1])
        out = []
        for i in range(len(rgb)):
            m = idx == i
            b, p, o = boxes[m], prob[m], offsets[m]
            keep = nms(b[:, :4], p, 0.7)
            out.append(np.column_stack([square(regress(b[keep], o[keep])), p[keep]])
                       if len(keep) else np.zeros((0, 5)))
        return out

    def _stage_o(self, rgb, found: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        idx, boxes, prob, offsets, pts = self._refine(rgb, found, "onet", 48, THRESHOLDS[2])
        out = []
        for i in range(len(rgb)):
            m = idx == i
            b, p, o = boxes[m], prob[m], offsets[m]
            if not len(b):
                out.append((np.zeros((0, 5)), np.zeros((0, 5, 2))))
                continue
            w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
            points = np.stack([b[:, :1] + pts[m][:, :5] * w[:, None],
                               b[:, 1:2] + pts[m][:, 5:] * h[:, None]], 2)
            b = regress(b, o)
            keep = nms(b, p, 0.7)
            out.append((np.column_stack([b[keep], p[keep]]), points[keep]))
        return out
