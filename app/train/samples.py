"""Training samples as DeepFaceLab makes them: random warp + random transform, masks, yaw pairing.

A face set is decoded once into memory at the model's resolution and face type (a half-face model
re-aligns full-face files with their landmarks, as DFL's sample processor does). Every batch is a
pure function of (seed, iteration): batch `i` draws its faces and augmentations from an RNG seeded
with `[seed, i]`, so background workers may compute batches ahead in any thread and a resumed run
sees exactly the batches an uninterrupted one would.

Batches are NCHW float32 dicts ready for the engine: `warped_src`, `target_src`, `mask_src` (and
the `dst` ones), plus `target_src_1`, `mask_src_1`, ... at 1/2, 1/4 size for multiscale decoders.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.errors import UserError, working_on
from app.extract.align import face_matrix
from app.faceset.landmarks import estimate_pitch_yaw
from app.models.augment import AugmentOptions

#: How much of the head each face type shows: a model can train from files that show as much or more.
_COVERAGE = {"half": 0, "midfull": 1, "full": 2, "whole": 3, "head": 4}

#: How many faces the yaw pairing considers "the same pose" for a dst face: 1/GRADATIONS of the set.
YAW_GRADATIONS = 32


@dataclass
class FaceSet:
    """A decoded face set: images uint8 [N, R, R, 3] BGR, masks uint8 [N, R, R] (0/255), yaws."""

    images: np.ndarray
    masks: np.ndarray
    yaws: np.ndarray
    names: list[str]
    folder: Path
    #: per face: whether the user drew mask-editor polygons on it (a hand-made mask label)
    labelled: np.ndarray | None = None
    #: uint8 [N, R, R] eyes-and-mouth masks (SAEHD's eyes and mouth priority), when asked for
    em_masks: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)


def load_faceset(folder: str | Path, resolution: int, face_type: str, progress: bool = False,
                 limit: int | None = None, learned_masks: bool = True,
                 eyes_mouth: bool = False) -> FaceSet:
    """Decode every aligned face of `folder` at `resolution` and `face_type` (and, with
    `eyes_mouth`, the eyes-and-mouth masks SAEHD's priority option weighs).

    Masks: app.faceset.face_masks (the learned mask `mask apply` stored, else the landmark hull,
    with the mask editor's polygons; `learned_masks=False` ignores stored masks, for training
    the mask network itself). Unreadable files are skipped with a note; an empty or missing
    folder is a UserError saying which extract step to run.
    """
    from app.faceset.face_masks import aligned_face_mask
    from app.faceset.face_file import FaceFileError, list_faces, read_face

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("face set folder not found; run `python -m app extract src|dst` first",
                        folder)
    files = list_faces(folder)[:limit] if limit else list_faces(folder)
    if not files:
        raise UserError("no aligned faces in this folder; run `python -m app extract src|dst` "
                        "first", folder)
    images, masks, yaws, names, labelled, skipped, ems = [], [], [], [], [], [], []
    for path in _progress(files, progress, f"loading {folder.parent.name}/{folder.name}"):
        working_on(path)
        try:
            img, meta = read_face(path)
        except FaceFileError as e:
            skipped.append(f"{path.name}: {e}")
            continue
        if _COVERAGE.get(meta.face_type, -1) < _COVERAGE[face_type]:
            raise UserError(f"{path.name} is a {meta.face_type} face but the model trains on "
                            f"{face_type} faces; extract with face type {face_type} (or wider) "
                            "or choose a model with a narrower face type", folder)
        lm = meta.landmarks_array()
        src_mask = aligned_face_mask(meta, img.shape[:2], on=255, dtype=np.uint8,
                                     learned=learned_masks, path=path)
        mat = face_matrix(lm, resolution, face_type)
        images.append(cv2.warpAffine(img, mat, (resolution, resolution), flags=cv2.INTER_AREA
                                     if img.shape[0] > resolution else cv2.INTER_CUBIC,
                                     borderMode=cv2.BORDER_REPLICATE))
        masks.append(cv2.warpAffine(src_mask, mat, (resolution, resolution), flags=cv2.INTER_LINEAR))
        if eyes_mouth:
            em = eyes_mouth_mask(lm, img.shape[0]) * (src_mask > 0)
            ems.append(cv2.warpAffine(em, mat, (resolution, resolution), flags=cv2.INTER_LINEAR))
        yaws.append(estimate_pitch_yaw(lm)[1])  # today's estimate, not the file's
        names.append(path.name)
        labelled.append(bool(meta.mask_polygons))
    if skipped:
        more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
        print(f"skipped {len(skipped)} of the {len(files)} faces in {folder}: unreadable{more}")
        for note in skipped[:5]:
            print(f"  {note}")
    if not names:
        raise UserError("none of the faces in this folder could be read; extract them again",
                        folder)
    return FaceSet(np.stack(images), np.stack(masks), np.asarray(yaws, np.float32), names, folder,
                   np.asarray(labelled, bool), np.stack(ems) if eyes_mouth else None)


def eyes_mouth_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """uint8 (0..255) mask of the eyes and the inner mouth, dilated by size/32 and blurred by
    size/16 (DeepFaceLab 2.0's get_image_eye_mask + get_image_mouth_mask, summed and clipped)."""
    lm = np.asarray(landmarks, np.float64).astype(np.int32)
    mask = np.zeros((size, size), np.float32)
    for part in (lm[36:42], lm[42:48], lm[60:68]):
        cv2.fillConvexPoly(mask, cv2.convexHull(part), 1.0)
    d = max(1, size // 32)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d)))
    blur = size // 16
    blur += 1 - blur % 2
    mask = cv2.GaussianBlur(mask, (blur, blur), 0)
    return (np.clip(mask, 0, 1) * 255).astype(np.uint8)


def _progress(items, on: bool, desc: str):
    if not on:
        return items
    from tqdm import tqdm
    return tqdm(items, desc=desc, unit="face")


# ------------------------------------------------------------------ augmentation (DFL imagelib)

def flip_drawn(rng: np.random.Generator) -> bool:
    """DeepFaceLab's random flip: 40 % of faces (its sample processor's `randint(10) < 4`)."""
    return bool(rng.integers(10) < 4)


def warp_params(rng: np.random.Generator, w: int, opts: AugmentOptions) -> dict:
    """DeepFaceLab's gen_warp_params: a random grid warp plus rotation/scale/shift and flip."""
    rotation = rng.uniform(-opts.rotation, opts.rotation)
    scale = rng.uniform(1 - opts.scale + opts.scale_shift, 1 + opts.scale + opts.scale_shift)
    tx, ty = rng.uniform(-opts.shift, opts.shift, 2)
    cell = [w // 2, w // 4, w // 8][rng.integers(3)]
    count = w // cell + 1
    grid = np.linspace(0, w, count)
    mapx = np.broadcast_to(grid, (count, count)).copy()
    mapy = mapx.T.copy()
    mapx[1:-1, 1:-1] += rng.normal(size=(count - 2, count - 2)) * (cell * 0.24)
    mapy[1:-1, 1:-1] += rng.normal(size=(count - 2, count - 2)) * (cell * 0.24)
    half = cell // 2
    big = (w + cell,) * 2
    mapx = cv2.resize(mapx, big)[half:half + w, half:half + w].astype(np.float32)
    mapy = cv2.resize(mapy, big)[half:half + w, half:half + w].astype(np.float32)
    rmat = cv2.getRotationMatrix2D((w // 2, w // 2), rotation, scale)
    rmat[:, 2] += (tx * w, ty * w)
    flip = bool(opts.random_flip and flip_drawn(rng))
    return {"mapx": mapx, "mapy": mapy, "rmat": rmat, "w": w, "flip": flip}


def warp_image(p: dict, img: np.ndarray, warp: bool, interp: int = cv2.INTER_CUBIC) -> np.ndarray:
    """DeepFaceLab's warp_by_params: grid warp (optional), then the transform, then the flip."""
    if warp:
        img = cv2.remap(img, p["mapx"], p["mapy"], interp, borderMode=cv2.BORDER_REPLICATE)
    img = cv2.warpAffine(img, p["rmat"], (p["w"], p["w"]), flags=interp,
                         borderMode=cv2.BORDER_REPLICATE)
    if p["flip"]:
        img = img[:, ::-1]
    return img


# ------------------------------------------------------------------ batches

@dataclass
class SampleConfig:
    """What the model needs from each batch."""

    batch_size: int
    multiscale: int = 1          # targets at full, 1/2, 1/4 size
    sort_by_yaw: bool = False    # pick each src face by the pose of its dst partner
    seed: int = 0
    eyes_mouth: bool = False     # eyes-and-mouth masks `em_src`, `em_dst` (SAEHD)
    ct_mode: str = "none"        # src faces take a random dst face's colours (SAEHD's ct_mode)
    uniform_yaw: bool = False    # every yaw equally often, whatever the set holds (SAEHD)
    #: every n-th batch repeats the one before with the targets as inputs (Quick96: n = 3)
    repeat_unwarped_every: int = 0
    #: (channels, ones): AMP's `morph_mask`, per src face `ones` of `channels` set at random
    morph_channels: tuple[int, int] = (0, 0)
    part: int = 0                # this process's share of each batch: faces
    parts: int = 1               # [part*B/parts, (part+1)*B/parts) of the whole batch B


class BatchMaker:
    """Builds batch `i` of a run from the two face sets (pure function of seed and `i`)."""

    def __init__(self, src: FaceSet, dst: FaceSet, cfg: SampleConfig,
                 src_aug: AugmentOptions, dst_aug: AugmentOptions):
        self.src, self.dst, self.cfg = src, dst, cfg
        self.src_aug, self.dst_aug = src_aug, dst_aug
        self._yaw_bins: dict[str, list[np.ndarray]] = {}
        # sort_by_yaw's candidates: every src face, and its mirror image (yaw negated) where
        # flips are allowed; candidate c >= len(src) is face c - len(src) mirrored
        yaws = np.asarray(src.yaws, np.float32)
        if src_aug.random_flip:
            yaws = np.concatenate([yaws, -yaws])
        self._yaw_order = np.argsort(yaws, kind="stable")
        self._sorted_yaws = yaws[self._yaw_order]

    def _epoch_index(self, side: str, n: int, k: int) -> int:
        """The k-th face drawn from a set of n: shuffled epochs, as DFL's generators draw."""
        epoch, pos = divmod(k, n)
        tag = {"src": 0, "dst": 1, "src-bins": 2, "dst-bins": 3}[side]
        perm = np.random.default_rng([self.cfg.seed, epoch, tag]).permutation(n)
        return int(perm[pos])

    def _src_for_yaw(self, rng: np.random.Generator, yaw: float) -> tuple[int, bool]:
        """(src face, mirrored) drawn among the candidates closest in yaw to `yaw`.

        DFL 1.0's sort_by_yaw: a dst face turned one way is paired with src faces turned the
        same way, mirrored src faces included, so the src decoder learns the poses dst shows
        even when src was filmed turned the other way. With random flip on, DFL's sample
        processor then flips 40 % of them at random on top, as it does every face: the src
        decoder also sees each pose turned the other way. Measured on the demo at 12 minutes,
        three pairs, two seeds each (bench/RESULTS.md): the swap's yaw error against dst fell
        from 4.9 to 3.7 degrees on average with that flip; the pair whose src was filmed turned
        the other way stayed the worst (four seeds: mean 6.9 -> 4.6, spread 4 degrees).
        """
        n = len(self._sorted_yaws)
        k = max(1, n // YAW_GRADATIONS)
        centre = int(np.searchsorted(self._sorted_yaws, yaw))
        lo = int(np.clip(centre - k // 2 - (k % 2), 0, max(0, n - k)))
        pick = int(self._yaw_order[lo + rng.integers(k)])
        flipped = bool(self.src_aug.random_flip and flip_drawn(rng))
        return pick % len(self.src), (pick >= len(self.src)) != flipped

    def picks(self, i: int) -> tuple[list[int], list[int], list[bool] | None]:
        """Batch `i`'s src faces, dst faces and, under sort_by_yaw, which src faces are
        mirrored (None: the augmentation's random flip decides)."""
        b = self.cfg.batch_size
        dst = [self._draw("dst", self.dst, i * b + j) for j in range(b)]
        if not self.cfg.sort_by_yaw:
            return [self._draw("src", self.src, i * b + j) for j in range(b)], dst, None
        rng = np.random.default_rng([self.cfg.seed, i, 7])
        src, mirrored = zip(*[self._src_for_yaw(rng, float(self.dst.yaws[d])) for d in dst])
        return list(src), dst, list(mirrored)

    def indices(self, i: int) -> tuple[list[int], list[int]]:
        src, dst, _ = self.picks(i)
        return src, dst

    def _draw(self, side: str, fs: FaceSet, k: int) -> int:
        if not self.cfg.uniform_yaw:
            return self._epoch_index(side, len(fs), k)
        bins = self._yaw_bins.setdefault(side, yaw_bins(fs.yaws))
        b = bins[self._epoch_index(side + "-bins", len(bins), k)]
        rng = np.random.default_rng([self.cfg.seed, k, 0 if side == "src" else 1, 5])
        return int(b[rng.integers(len(b))])

    def make(self, i: int) -> dict[str, np.ndarray]:
        n = self.cfg.repeat_unwarped_every
        if n and i > 0 and i % n == 0:     # DFL 2.0's Quick96: the last faces again, unwarped
            out = self.make(i - 1)
            return {**out, "warped_src": out["target_src"], "warped_dst": out["target_dst"]}
        src_idx, dst_idx, mirrored = self.picks(i)
        out: dict[str, np.ndarray] = {}
        for side, fs, idx, aug, tag, flips in (
                ("src", self.src, src_idx, self.src_aug, 1, mirrored),
                ("dst", self.dst, dst_idx, self.dst_aug, 2, None)):
            rng = np.random.default_rng([self.cfg.seed, i, tag])
            extra = np.random.default_rng([self.cfg.seed, i, tag, 11])   # the SAEHD options' draws
            out.update(self._side(side, fs, idx, aug, rng, extra, flips))
        if self.cfg.morph_channels[0]:
            out["morph_mask"] = self._morph_mask(i)
        return out

    def _morph_mask(self, i: int) -> np.ndarray:
        """AMP's per-face choice of code channels from inter_src: exactly `ones` of `channels`
        for each face, shuffled (DFL's tf.random.shuffle of ones and zeros), [B/parts, C, 1, 1];
        drawn for the whole batch so every part agrees."""
        channels, ones = self.cfg.morph_channels
        rng = np.random.default_rng([self.cfg.seed, i, 13])
        row = (np.arange(channels) < ones).astype(np.float32)
        mask = np.stack([rng.permutation(row) for _ in range(self.cfg.batch_size)])
        per = self.cfg.batch_size // self.cfg.parts
        return mask[self.cfg.part * per:(self.cfg.part + 1) * per, :, None, None]

    def _side(self, side: str, fs: FaceSet, idx: list[int], aug: AugmentOptions,
              rng: np.random.Generator, extra: np.random.Generator,
              flips: list[bool] | None = None) -> dict[str, np.ndarray]:
        """Every face's random draws are made (the streams stay the whole batch's) but only this
        part's faces are warped: N processes each build 1/N of the single-process batch."""
        per = len(idx) // self.cfg.parts
        mine = range(self.cfg.part * per, (self.cfg.part + 1) * per)
        recolour = side == "src" and self.cfg.ct_mode != "none"
        warped, targets, masks, ems = [], [], [], []
        for j, k in enumerate(idx):
            p = warp_params(rng, fs.images.shape[1], aug)
            if flips is not None:
                p["flip"] = flips[j]
            ref = self.dst.images[int(extra.integers(len(self.dst)))] if recolour else None
            if j not in mine:
                continue
            img = fs.images[k]
            if ref is not None:
                img = self._colour_like(img, ref)
            warped.append(warp_image(p, img, aug.random_warp))
            targets.append(warp_image(p, img, False))
            masks.append(warp_image(p, fs.masks[k], False, cv2.INTER_LINEAR))
            if self.cfg.eyes_mouth:
                ems.append(_to_max(warp_image(p, fs.em_masks[k], False, cv2.INTER_LINEAR)))
        out = {f"warped_{side}": _nchw(np.stack(warped)),
               f"target_{side}": _nchw(np.stack(targets)),
               f"mask_{side}": _nchw(np.stack(masks)[..., None])}
        if aug.hsv_power > 0:
            out[f"warped_{side}"] = _hsv_shift(out[f"warped_{side}"], aug.hsv_power, extra,
                                               mine.start, len(idx))
        if self.cfg.eyes_mouth:
            out[f"em_{side}"] = _nchw(np.stack(ems)[..., None])
        for s in range(1, self.cfg.multiscale):
            size = fs.images.shape[1] >> s
            out[f"target_{side}_{s}"] = _nchw(np.stack([_shrink(t, size) for t in targets]))
            out[f"mask_{side}_{s}"] = _nchw(np.stack([_shrink(m, size) for m in masks])[..., None])
        return out


    def _colour_like(self, img: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """DFL's ct_mode: the src face recoloured after a random dst face `ref` (uint8 in and
        out)."""
        from app.color_transfer import color_transfer
        out = color_transfer(self.cfg.ct_mode, img.astype(np.float32) / 255,
                             ref.astype(np.float32) / 255)
        return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def yaw_bins(yaws: np.ndarray, count: int = 128) -> list[np.ndarray]:
    """The faces in each of `count` equal yaw ranges over -1..1 (ours: app.extract.align's
    estimate), empty ranges left out: SAEHD's uniform yaw draws a range, then a face in it, so
    rare side faces come as often as frontal ones (DFL 2.0: 128 ranges over -1.2..1.2 radians)."""
    edges = np.linspace(-1.0, 1.0, count + 1)[1:-1]
    which = np.searchsorted(edges, np.asarray(yaws), side="right")
    return [np.flatnonzero(which == g) for g in range(count) if np.any(which == g)]


def _to_max(mask_u8: np.ndarray) -> np.ndarray:
    """Stretch a warped eyes/mouth mask back to a peak of 255 (DFL normalises after the warp)."""
    peak = int(mask_u8.max())
    return mask_u8 if peak in (0, 255) else \
        (mask_u8.astype(np.float32) * (255.0 / peak) + 0.5).astype(np.uint8)


def _hsv_shift(batch: np.ndarray, power: float, rng: np.random.Generator, first: int = 0,
               total: int | None = None) -> np.ndarray:
    """DFL's random_hsv_shift_amount on float NCHW BGR faces: hue by up to +-180*power
    degrees, saturation and value by up to +-power/2. `batch` may be faces `first`.. of a
    batch of `total` (one process's part): the whole batch's shifts are drawn, so each face
    gets the shift it has in the whole batch."""
    out = np.empty_like(batch)
    h_amount = max(1, int(360 * power * 0.5))
    draws = [(rng.integers(-h_amount, h_amount + 1), rng.random(), rng.random())
             for _ in range(len(batch) if total is None else total)]
    for i, face in enumerate(batch):
        dh, ds, dv = draws[first + i]
        hsv = cv2.cvtColor(np.ascontiguousarray(face.transpose(1, 2, 0)), cv2.COLOR_BGR2HSV)
        hsv[..., 0] = (hsv[..., 0] + dh) % 360
        hsv[..., 1] = np.clip(hsv[..., 1] + (ds - 0.5) * power, 0, 1)
        hsv[..., 2] = np.clip(hsv[..., 2] + (dv - 0.5) * power, 0, 1)
        out[i] = np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), 0, 1).transpose(2, 0, 1)
    return out


def _shrink(img: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def _nchw(batch_u8: np.ndarray) -> np.ndarray:
    """uint8 NHWC -> float32 NCHW in 0..1."""
    return np.ascontiguousarray(batch_u8.transpose(0, 3, 1, 2), dtype=np.float32) * (1.0 / 255.0)


def preview_faces(fs: FaceSet, count: int, seed: int) -> np.ndarray:
    """A fixed, un-augmented set of faces (float32 NCHW) for the preview grid."""
    rng = np.random.default_rng([seed, 99])
    idx = rng.choice(len(fs), size=min(count, len(fs)), replace=False)
    return _nchw(fs.images[np.sort(idx)])


class SampleFeeder:
    """Background worker(s) computing batches `start, start+1, ...` ahead into a queue, so the
    training step never waits on image work. OpenCV and numpy release the GIL, so a thread is
    enough and keeps the face sets in one copy of memory."""

    def __init__(self, maker: BatchMaker, start: int = 0, prefetch: int = 3, workers: int = 1):
        cv2.setNumThreads(1)     # the training step owns the cores; warping one face is tiny
        self.maker = maker
        self._next = start
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._results: dict[int, dict | BaseException] = {}
        self._produce_from = start
        self._workers = [threading.Thread(target=self._work, daemon=True, name=f"samples-{n}")
                         for n in range(max(1, workers))]
        self._limit = prefetch
        for t in self._workers:
            t.start()

    def _claim(self) -> int | None:
        with self._cond:
            while not self._stop.is_set() and self._produce_from - self._next >= self._limit:
                self._cond.wait(0.1)
            if self._stop.is_set():
                return None
            i = self._produce_from
            self._produce_from += 1
            return i

    def _work(self) -> None:
        while True:
            i = self._claim()
            if i is None:
                return
            try:
                item: dict | BaseException = self.maker.make(i)
            except BaseException as e:  # handed to the training thread, which raises it
                item = e
            with self._cond:
                self._results[i] = item
                self._cond.notify_all()

    def next(self, timeout: float = 600.0) -> dict[str, np.ndarray]:
        """The next batch in order (blocks only if the workers fall behind)."""
        with self._cond:
            i = self._next
            self._cond.wait_for(lambda: i in self._results or self._stop.is_set(), timeout)
            if i not in self._results:
                raise RuntimeError("the sample workers stopped producing batches")
            item = self._results.pop(i)
            self._next += 1
            self._cond.notify_all()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for t in self._workers:
            t.join(timeout=5)
