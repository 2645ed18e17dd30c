"""The merge run: dst frames in, merged frames out, in order, resumable.

The main process reads frames, crops faces, runs the model in batches (and the upscaler); worker
processes do the image work (masks, colour, Poisson blend, encoding) in parallel; the main
process writes the encoded frames in frame order with atomic writes. A frame whose output exists
is skipped, so an interrupted merge resumes where it stopped; once the model has trained on
(another `stamp`), every frame is merged again.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from app.child_processes import worker_dies_with_parent
from app.errors import UserError, working_on
from app.extract.align import face_matrix
from app.fileio import atomic_write_bytes, atomic_write_text, remove_stale_temps
from app.merge import jitter
from app.video.frames import image_is_complete
from app.merge.dst_inputs import FRAME_EXTS, _as_dst_face
from app.merge.compose import (PredictedFace, merge_frame, merge_frame_u8, probe_levels,
                                wants_alpha)
from app.merge.label import add_label, encode_image, to_uint8
from app.merge.options import FAN_MASK_MODES, MergeOptions
from app.merge.predictors import Predictor

SETTINGS_NAME = ".merge_settings.json"


@dataclass
class MergeStats:
    frames: int = 0
    merged: int = 0
    copied: int = 0
    skipped: int = 0
    faces: int = 0
    written: list = field(default_factory=list)


def effective_options(opts: MergeOptions, predictor: Predictor) -> MergeOptions:
    """A model trained without a mask has no learned mask: "learned" then means the dst
    landmark hull, as in DeepFaceLab."""
    if opts.mask_mode == "learned" and getattr(predictor, "learned_mask", True) is False:
        return replace(opts, mask_mode="dst")
    return opts


def output_path(frame: Path, out_dir: Path, opts: MergeOptions) -> Path:
    """Same name as the dst frame; PNG when the output has an alpha channel."""
    return out_dir / (frame.stem + ".png" if wants_alpha(opts) else frame.name)


def model_stamp(predictor: Predictor) -> str | None:
    """Which model state makes the frames: its name and iteration (`stamp`), recorded beside
    the merge settings so that a merge after more training redoes the frames. None for the
    model-free stand-in."""
    return getattr(predictor, "stamp", None)


def _read_settings(out_dir: Path) -> dict | None:
    try:
        old = json.loads((out_dir / SETTINGS_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return old if isinstance(old, dict) else None


def _has_frames(out_dir: Path) -> bool:
    return any(p.suffix.lower() in FRAME_EXTS for p in out_dir.iterdir())


def check_settings(old: dict | None, out_dir: Path, opts: MergeOptions) -> None:
    """Refuse to mix frames merged with other settings into one result. `old`: the settings
    file there (`_read_settings`; None when overwriting)."""
    if old is None:
        return
    old = {k: v for k, v in old.items() if k != "model"}  # not a setting: see model_changed
    if old != opts.output_settings() and _has_frames(out_dir):
        changed = sorted(k for k in opts.output_settings() if old.get(k) != getattr(opts, k))
        raise UserError("merged frames made with other settings are there (changed: "
                        f"{', '.join(changed)}). Use --overwrite to redo every frame, or "
                        "merge into another folder", out_dir)


def model_changed(old: dict | None, out_dir: Path, stamp: str | None) -> str | None:
    """The stamp of the model that made the merged frames there (`old`: their settings file),
    when it is not `stamp`.

    A user who trains on and merges again wants the new model's frames: resuming would keep
    every frame the old model made (the whole result, when the last merge finished). Frames
    from a folder that records no model (merged before this was kept) are kept."""
    if stamp is None or old is None or old.get("model") in (None, stamp):
        return None
    return str(old["model"]) if _has_frames(out_dir) else None


# ----------------------------------------------------------------------------- workers

_W_OPTS: MergeOptions | None = None
_W_FACE_TYPE = "full"


def _init_worker(opts: MergeOptions, face_type: str) -> None:
    global _W_OPTS, _W_FACE_TYPE
    worker_dies_with_parent()   # no orphan printing BrokenPipe tracebacks when merge is killed
    cv2.setNumThreads(1)
    _W_OPTS, _W_FACE_TYPE = opts, face_type


def _compose_job(job: tuple) -> tuple[bytes, list]:
    """Worker side: merge one frame's faces and encode it (with the label)."""
    frame, faces, ext = job
    if not _W_OPTS.debug:  # float work on the faces' box only (same pixels, cheaper on big frames)
        return encode_image(merge_frame_u8(frame, faces, _W_OPTS, _W_FACE_TYPE), ext), []
    result = merge_frame(frame, faces, _W_OPTS, _W_FACE_TYPE)
    data = encode_image(to_uint8(result.image), ext)
    stages = [(name, to_uint8(img)) for name, img in result.stages]
    return data, stages


def _probe_job(job: tuple) -> list:
    """Worker side: the Poisson blend level of each face of a frame (jitter suppression)."""
    frame, faces = job
    return probe_levels(frame, faces, _W_OPTS, _W_FACE_TYPE)


class _Inline:
    """The pool interface run in-process (workers=0: tests, debugging)."""

    def __init__(self, opts: MergeOptions, face_type: str) -> None:
        _init_worker(opts, face_type)

    def apply_async(self, fn, args):
        value = fn(*args)
        return type("Done", (), {"get": lambda self, timeout=None: value})()

    def close(self) -> None:
        pass

    def join(self) -> None:
        pass


# ----------------------------------------------------------------------------- main side

def crop_faces(frame: np.ndarray, landmarks: list[np.ndarray], res: int,
               face_type: str) -> np.ndarray:
    """Model inputs: each face warped to the model's face type and resolution."""
    crops = np.empty((len(landmarks), res, res, 3), np.float32)
    for i, lm in enumerate(landmarks):
        mat = face_matrix(lm, res, face_type)
        crops[i] = cv2.warpAffine(frame, mat, (res, res), flags=cv2.INTER_CUBIC,
                                  borderMode=cv2.BORDER_REPLICATE).astype(np.float32) / 255.0
    return crops


def needs_learned_mask(opts: MergeOptions) -> bool:
    """False where the output never reads the model's mask (dst hull masks; raw modes that
    paste the face alone, outside debug): the model can then skip its mask decoder."""
    if opts.mask_mode not in ("learned", "learned*FAN-prd*FAN-dst"):
        return False
    return not (opts.is_raw and opts.raw_mode in ("rgb", "predicted-only") and not opts.debug)


def predict_faces(predictor: Predictor, crops: np.ndarray, upscaler=None,
                  batch_size: int = 8, need_mask: bool = True, masker=None,
                  landmarks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Batched inference; with an upscaler the faces (and masks) come back at 2x. Without
    `need_mask` a predictor that can (`skips_mask`) returns all-ones masks, computed faster.
    A `masker` (app.merge.fan_masks.FanMasker; needs the faces' `landmarks`) makes the masks
    of a FAN mask mode from the dst crops, the predicted faces and the learned masks."""
    skip = not need_mask and getattr(predictor, "skips_mask", False)
    faces, maskss = [], []
    for i in range(0, len(crops), batch_size):
        f, m = (predictor.predict(crops[i:i + batch_size], need_mask=False) if skip
                else predictor.predict(crops[i:i + batch_size]))
        f = np.clip(np.asarray(f, np.float32), 0, 1)
        m = np.clip(np.asarray(m, np.float32), 0, 1).reshape(f.shape[:3])
        if masker is not None:
            m = masker(crops[i:i + batch_size], f, m, landmarks[i:i + batch_size])
        if upscaler is not None:
            f = upscaler.upscale(f)
            size = f.shape[1]
            m = np.stack([cv2.resize(x, (size, size), interpolation=cv2.INTER_CUBIC) for x in m])
        faces.append(f)
        maskss.append(np.clip(m, 0, 1))
    if not faces:
        return np.zeros((0, 1, 1, 3), np.float32), np.zeros((0, 1, 1), np.float32)
    return np.concatenate(faces), np.concatenate(maskss)


def _read_frame(path: Path) -> np.ndarray:
    working_on(path)
    img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise UserError("cannot read this dst frame (damaged or not an image); re-extract the "
                        "dst frames or delete it", path)
    return img


def _chunks(items: list, n: int) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def default_inference_threads(predictor: Predictor) -> int:
    """Python threads that run inference side by side: what the engine says
    (`Engine.inference_threads`: two on a small CPU for torch, which merge runs single-threaded
    beside the image workers; one elsewhere, which still overlaps reading and writing frames
    with inference), or the graph runtime (`open_session`)."""
    if getattr(predictor, "inference_threads", None):  # a graph runtime says it (open_session)
        return predictor.inference_threads
    threads = getattr(getattr(predictor, "engine", None), "inference_threads", None)
    return threads() if threads is not None else 1


def merge_frames(frames: list[Path], faces: dict[str, list], out_dir: Path,
                 predictor: Predictor, opts: MergeOptions, *, upscaler=None, workers: int = 2,
                 batch_size: int = 8, overwrite: bool = False, debug_dir: Path | None = None,
                 progress: Callable[[int], None] | None = None,
                 inference_threads: int | None = None, masker=None) -> MergeStats:
    """Merge every frame of `frames` into `out_dir` (see the module docstring).

    `faces` maps a frame's name to its faces: `DstFace`s (landmarks and mask polygons, from
    `dst_faces_by_frame`) or plain source-landmark arrays.

    `inference_threads` (None: `default_inference_threads`) run the model on parts of each batch
    at once; the next batch is read and cropped while the current one is predicted.
    `masker` (app.merge.fan_masks.FanMasker) is required by the FAN mask modes. `opts` must
    be validated (`MergeOptions.validate`, as run_merge does: the step's one check).
    """
    if opts.mask_mode in FAN_MASK_MODES and masker is None:
        raise UserError(f"mask mode {opts.mask_mode} needs the mask network; train it with "
                        "`python -m app mask train` (merge trains it when it is missing)")
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_dir)  # a killed run's half-written frame or settings file
    old = None if overwrite else _read_settings(out_dir)
    check_settings(old, out_dir, opts)
    stamp = model_stamp(predictor)
    made_by = model_changed(old, out_dir, stamp)
    if made_by is not None:
        print(f"the merged frames there were made by {made_by}; this is {stamp}: merging "
              "every frame again")
        overwrite = True
    record = {**opts.output_settings(), **({"model": stamp} if stamp else {})}
    atomic_write_text(out_dir / SETTINGS_NAME, json.dumps(record, indent=1))
    opts = effective_options(opts, predictor)
    stats = MergeStats(frames=len(frames))
    done = _already_merged(frames, out_dir, opts, overwrite)
    stats.skipped = sum(done)
    if progress and stats.skipped:
        progress(stats.skipped)
    window = jitter.WINDOW if opts.mode == "seamless" and opts.suppress_seamless_jitter else 0
    todo = _stream(frames, done, window)
    threads = inference_threads or default_inference_threads(predictor)
    run = _Run(out_dir, opts, stats, debug_dir, progress, workers, batch_size, window)
    pool = _make_pool(workers, opts, predictor.face_type)
    executor = _make_executor(predictor, threads, (upscaler, getattr(masker, "net", None)))
    try:
        prev = None
        for group in _chunks(todo, batch_size):
            try:
                cur = _start_group(group, faces, predictor, upscaler, opts, batch_size,
                                   executor, threads, masker)
            except BaseException:
                if prev is not None:
                    _dispatch(prev, pool, run)  # a bad frame: still write the group before it
                raise
            if prev is not None:
                _dispatch(prev, pool, run)
            prev = cur
        if prev is not None:
            _dispatch(prev, pool, run)
        for entry in run.smoother.flush():
            _submit(entry, pool, run)
        while run.pending:
            run.write_next()
    except BaseException:
        run.drain()  # keep work already done
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        pool.close()
        pool.join()
    return stats


def _already_merged(frames: list[Path], out_dir: Path, opts: MergeOptions,
                    overwrite: bool) -> list[bool]:
    """Per frame: its merged frame is there and whole. A 0-byte, cut-off or foreign file (a
    full disk, another tool) is merged again, said once; counting it done lost the frame."""
    if overwrite:
        return [False] * len(frames)
    outs = [output_path(f, out_dir, opts) for f in frames]
    done = [image_is_complete(p) for p in outs]
    damaged = [p.name for p, d in zip(outs, done) if not d and p.exists()]
    if damaged:
        print(f"note: {len(damaged)} merged frames are empty or damaged ({', '.join(damaged[:5])}"
              f"{' ...' if len(damaged) > 5 else ''}); merging them again")
    return done


class _Run:
    """The write side of a merge: the jitter smoother, then results in frame order with a
    bounded look-ahead."""

    def __init__(self, out_dir: Path, opts: MergeOptions, stats: MergeStats,
                 debug_dir: Path | None, progress, workers: int, batch_size: int,
                 window: int) -> None:
        self.out_dir, self.opts, self.stats = out_dir, opts, stats
        self.debug_dir, self.progress = debug_dir, progress
        self.pending: deque = deque()
        self.ahead = 2 * batch_size + 2 * max(workers, 1)
        self.smoother = jitter.Smoother(window)

    def write_next(self) -> None:
        _write_next(self.pending, self.out_dir, self.opts, self.stats, self.debug_dir,
                    self.progress)

    def write_ready(self) -> None:
        while len(self.pending) > self.ahead:
            self.write_next()

    def drain(self) -> None:
        _drain(self.pending, self.out_dir, self.opts, self.stats, self.debug_dir, self.progress)


def _stream(frames: list[Path], done: list[bool], window: int) -> list[tuple[Path, bool]]:
    """(frame, write?) for every frame to merge, plus the done frames within `window` of one
    (their blend levels are needed to smooth the frames beside them; they are not written)."""
    near = [False] * len(frames)
    for i, d in enumerate(done):
        if not d:
            for j in range(max(0, i - window), min(len(frames), i + window + 1)):
                near[j] = True
    return [(f, not d) for f, d, n in zip(frames, done, near) if n]


def _dispatch(group: "_Group", pool, run: _Run) -> None:
    """Hand the predicted frames of a group to the smoother (which probes their blend level
    when jitter suppression is on) and queue the frames it releases."""
    for frame_path, write, img, pf in group.finish():
        entry = jitter.Entry(frame_path, write, img, pf)
        if run.smoother.window and pf:
            entry.probe = pool.apply_async(_probe_job, ((img, pf),))
        for ready in run.smoother.push(entry):
            _submit(ready, pool, run)


def _submit(entry: "jitter.Entry", pool, run: _Run) -> None:
    """Queue one frame's compose job (frames without a face are copied); context frames of a
    resumed run are not written."""
    if not entry.write:
        return
    opts, pf = run.opts, entry.faces
    if not pf and not wants_alpha(opts) and not opts.is_raw:
        run.pending.append((entry.path, None, None))  # copied unchanged
    else:
        ext = output_path(entry.path, run.out_dir, opts).suffix
        run.pending.append((entry.path, pool.apply_async(_compose_job, ((entry.img, pf, ext),)),
                            len(pf)))
    run.write_ready()


def _drain(pending: deque, out_dir: Path, opts: MergeOptions, stats: MergeStats,
           debug_dir: Path | None, progress) -> None:
    """Write what was already merged when a run stops early (bad frame, Ctrl+C)."""
    while pending:
        try:
            _write_next(pending, out_dir, opts, stats, debug_dir, progress)
        except Exception:
            return


class _InlineExecutor:
    """The executor interface run in the calling thread (engines not known to be thread-safe)."""

    def submit(self, fn, *args) -> Future:
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except Exception as e:  # raised again where the result is read, as a thread's is
            done.set_exception(e)
        return done

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _make_executor(predictor: Predictor, threads: int, helpers: tuple = ()):
    """Inference threads for torch (and model-free predictors); the OpenCL engine (tinygrad)
    runs in the main thread, as it was written for, also where only a helper network (the
    upscaler, the mask network: `helpers`) runs on it."""
    for eng in [getattr(predictor, "engine", None)] + [getattr(h, "engine", None)
                                                       for h in helpers]:
        threaded = getattr(eng, "threaded_inference", None)
        if eng is not None and (threaded is None or not threaded()):  # unknown: main thread
            return _InlineExecutor()
    return ThreadPoolExecutor(max(1, threads), thread_name_prefix="merge-inference")


def _make_pool(workers: int, opts: MergeOptions, face_type: str):
    if workers <= 0:
        return _Inline(opts, face_type)
    ctx = mp.get_context("spawn")  # no fork: the model's threads must not be inherited
    return ctx.Pool(workers, initializer=_init_worker, initargs=(opts, face_type))


@dataclass
class _Group:
    """A group of frames read and cropped, its inference running on the executor."""

    paths: list
    writes: list
    imgs: list
    lms: list
    futures: list
    resolution: int     # the model's; the faces come back at a multiple of it when upscaled

    def finish(self):
        """Wait for the predictions; yield (path, write?, frame, [PredictedFace]) per frame."""
        parts = [f.result() for f in self.futures]
        if parts:
            pf = np.concatenate([p[0] for p in parts])
            pm = np.concatenate([p[1] for p in parts])
        k = 0
        for path, write, img, lm in zip(self.paths, self.writes, self.imgs, self.lms):
            items = [PredictedFace(d.landmarks, pf[k + j], pm[k + j], d.polygons, d.polygon_modes,
                                   d.area, d.area_to_frame,
                                   upscaled=pf.shape[1] // self.resolution)
                     for j, d in enumerate(lm)]
            k += len(lm)
            yield path, write, img, items


def _start_group(stream: list[tuple[Path, bool]], faces: dict, predictor: Predictor, upscaler,
                 opts: MergeOptions, batch_size: int, executor, threads: int,
                 masker=None) -> _Group:
    """Read a group of (frame, write?), crop all their faces, start predicting them (in
    `threads` parts of the batch)."""
    group = [p for p, _ in stream]
    imgs = [_read_frame(p) for p in group]
    lms = [[_as_dst_face(f) for f in faces.get(p.name, [])] for p in group]
    crops = [crop_faces(img, [d.landmarks for d in lm], predictor.resolution,
                        predictor.face_type)
             for img, lm in zip(imgs, lms)]
    futures = []
    if any(len(c) for c in crops):
        flat = np.concatenate(crops)
        flat_lms = np.stack([d.landmarks for lm in lms for d in lm])
        up = upscaler if opts.super_resolution else None
        parts = min(max(1, threads), len(flat))
        for part, part_lms in zip(np.array_split(flat, parts), np.array_split(flat_lms, parts)):
            futures.append(executor.submit(predict_faces, predictor, part, up, batch_size,
                                           needs_learned_mask(opts), masker, part_lms))
    return _Group(group, [w for _, w in stream], imgs, lms, futures, predictor.resolution)


def _write_next(pending: deque, out_dir: Path, opts: MergeOptions, stats: MergeStats,
                debug_dir: Path | None, progress) -> None:
    frame_path, result, n_faces = pending.popleft()
    target = output_path(frame_path, out_dir, opts)
    if result is None:
        try:
            atomic_write_bytes(target, add_label(frame_path.read_bytes()))
        except ValueError:
            raise UserError("this dst frame is not a valid PNG or JPEG file; re-extract the dst "
                            "frames", frame_path) from None
        stats.copied += 1
    else:
        data, stages = result.get()
        atomic_write_bytes(target, data)
        stats.merged += 1
        stats.faces += n_faces
        if debug_dir is not None and stages:
            _write_stages(debug_dir, frame_path.stem, stages)
    stats.written.append(target)
    if progress:
        progress(1)


def _write_stages(debug_dir: Path, stem: str, stages: list) -> None:
    """Each stage of a debug merge as its own labelled PNG: merged_debug/<frame>/NN_stage.png."""
    folder = debug_dir / stem
    for i, (name, img) in enumerate(stages):
        atomic_write_bytes(folder / f"{i:02d}_{name}.png", encode_image(img, ".png"))
