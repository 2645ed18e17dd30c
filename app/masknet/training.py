"""Training the mask network on the user's aligned faces, and measuring it on held-out ones.

Targets are the faces' landmark hulls with the mask editor's polygons applied; faces the user
drew polygons on are real labels and are drawn 4x as often. Each sample gets DeepFaceLab's
random transform, a colour change and (most of the time) a synthetic obstruction
(app.masknet.occluders). The report compares the network with the plain hull on held-out faces
with made-up obstructions: the hull cannot leave them out, the network should.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from app.errors import UserError
from app.masknet.net import MaskNet, build
from app.masknet.occluders import occlude

#: chance that a training sample gets an obstruction
OCCLUSION = 0.8
#: how much more often a face with mask-editor polygons is drawn than one without
LABELLED_WEIGHT = 4.0


@dataclass
class MaskData:
    """Faces (uint8 [N, R, R, 3] BGR), their target masks (uint8 [N, R, R], 0..255) and which
    of them carry the user's polygons."""

    images: np.ndarray
    masks: np.ndarray
    labelled: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, keep: np.ndarray) -> "MaskData":
        return MaskData(self.images[keep], self.masks[keep], self.labelled[keep])


def load_faces(folders: list[Path], resolution: int, face_type: str) -> MaskData:
    """Every readable aligned face of `folders` at `resolution` and `face_type`."""
    from app.train.samples import load_faceset

    # targets: hull + the user's polygons, never a mask this network applied itself
    sets = [load_faceset(folder, resolution, face_type, learned_masks=False) for folder in folders]
    return MaskData(np.concatenate([fs.images for fs in sets]),
                    np.concatenate([fs.masks for fs in sets]),
                    np.concatenate([fs.labelled for fs in sets]))


def _jitter_colour(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exposure, white balance, sometimes grey, and side lighting: a brightness ramp across the
    face in a random direction (so a half-shadowed face is not taken for an obstruction)."""
    img = img * rng.uniform(0.75, 1.25) + rng.uniform(-0.1, 0.1)
    if rng.random() < 0.5:
        size = img.shape[0]
        ang = rng.uniform(0, 2 * np.pi)
        t = np.linspace(-1, 1, size, dtype=np.float32)
        ramp = np.cos(ang) * t[None, :] + np.sin(ang) * t[:, None]
        img = img * (1 + rng.uniform(0.2, 0.6) * ramp)[..., None]
    img = img * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    if rng.random() < 0.1:
        img = np.repeat(cv2.cvtColor(np.clip(img, 0, 1).astype(np.float32),
                                     cv2.COLOR_BGR2GRAY)[..., None], 3, 2)
    return np.clip(img, 0, 1).astype(np.float32)


def _degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, low resolution or sensor noise over the whole composite, so pasted edges look like
    the rest and small, soft video faces look like the training ones."""
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
    elif rng.random() < 0.3:
        size = img.shape[0]
        small = max(8, int(size * rng.uniform(0.3, 0.7)))
        img = cv2.resize(cv2.resize(img, (small, small), interpolation=cv2.INTER_AREA),
                         (size, size), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        img = img + rng.normal(0, rng.uniform(0.005, 0.03), img.shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def make_sample(data: MaskData, k: int, rng: np.random.Generator, occlusion: float = OCCLUSION,
                augment: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(face float32 RxRx3, target float32 RxR) for face `k`."""
    from app.train.samples import AugmentOptions, warp_image, warp_params

    img = data.images[k].astype(np.float32) / 255
    mask = data.masks[k].astype(np.float32) / 255
    if augment:
        p = warp_params(rng, img.shape[0], AugmentOptions(rotation=15, scale=0.1, shift=0.08))
        img = _jitter_colour(warp_image(p, img, False), rng)
        mask = warp_image(p, mask, False, cv2.INTER_LINEAR)
    if len(data) > 1 and rng.random() < occlusion:
        j = int(rng.integers(len(data) - 1))
        j += j >= k  # any face but this one
        donor = data.images[j].astype(np.float32) / 255
        img, mask = occlude(img, mask, donor, data.masks[j].astype(np.float32) / 255, rng)
    if augment:
        img = _degrade(img, rng)
    return np.ascontiguousarray(img, np.float32), np.ascontiguousarray(mask, np.float32)


def make_batch(data: MaskData, size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """NCHW faces and N1HW targets, faces with polygons drawn LABELLED_WEIGHT times as often."""
    w = np.where(data.labelled, LABELLED_WEIGHT, 1.0)
    picks = rng.choice(len(data), size, p=w / w.sum())
    pairs = [make_sample(data, int(k), rng) for k in picks]
    x = np.stack([p[0] for p in pairs]).transpose(0, 3, 1, 2)
    y = np.stack([p[1] for p in pairs])[:, None]
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def _loss(F, logits, target):
    """Per-pixel cross-entropy plus soft Dice (which keeps small faces from being ignored)."""
    bce = F.bce_with_logits(logits, target)
    p = F.sigmoid(logits)
    inter = F.sum(p * target, (1, 2, 3))
    dice = 1 - (inter * 2 + 1) / (F.sum(p, (1, 2, 3)) + F.sum(target, (1, 2, 3)) + 1)
    return bce + F.mean(dice)


def optimizer(steps: int, lr: float):
    """Adam (torch's defaults) with a short warm-up to `lr`, then cosine decay over the run
    (one cycle, backends.optim)."""
    from backends.optim import Adam

    return Adam(lr=lr, beta1=0.9, beta2=0.999, eps=1e-8, warmup=max(1, steps // 10),
                decay=steps)


def train(data: MaskData, resolution: int, face_type: str, steps: int = 1500, batch: int = 8,
          channels: int = 16, lr: float = 1e-3, seed: int = 0,
          progress: Callable[[int, float], None] | None = None,
          checkpoint_dir: Path | None = None, save_every: int = 200, engine: str = "torch",
          device: Any = None) -> MaskNet:
    """Train a mask network on `data` (faces at `resolution`, a multiple of 32) on `engine`
    ("torch" or "opencl") and `device` (None: the system's choice).

    With `checkpoint_dir` the state is saved every `save_every` steps and a run with the same
    settings resumes from it; batch `i` depends only on (seed, i), so the result is the same.
    """
    from app.masknet import checkpoint

    if len(data) < 2:
        raise UserError("the mask network needs at least 2 aligned faces to train on; extract "
                        "faces first (python -m app extract src|dst)")
    net, eng = build(channels, 4, engine, device)
    eng.set_optimizers([optimizer(steps, lr)])
    settings = {"resolution": resolution, "face_type": face_type, "steps": steps,
                "batch": batch, "channels": channels, "lr": lr, "seed": seed,
                "faces": len(data), "labelled": int(data.labelled.sum())}
    start = checkpoint.load(checkpoint_dir, eng, settings) if checkpoint_dir else 0
    train_step = eng.train_step(lambda F, P, b: {"loss": _loss(F, net(F, P, b["x"]), b["y"])})
    started, loss_v = time.time(), float("nan")
    for step in range(start, steps):
        x, y = make_batch(data, batch, np.random.default_rng([seed, step]))
        loss_v = train_step({"x": x, "y": y})["loss"]
        if checkpoint_dir and (step + 1) % save_every == 0 and step + 1 < steps:
            checkpoint.save(checkpoint_dir, eng, step + 1, settings)
        if progress is not None:
            progress(step + 1, loss_v)
    info = {"steps": steps, "faces": len(data), "labelled_faces": int(data.labelled.sum()),
            "final_loss": loss_v, "resumed_at": start, "engine": eng.name,
            "train_seconds": round(time.time() - started, 1)}
    return MaskNet(net, resolution, face_type, channels, 4, info, eng)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks thresholded at 0.5 (1.0 when both are empty)."""
    a, b = a > 0.5, b > 0.5
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def evaluate(model: MaskNet, data: MaskData, seed: int = 1234, variants: int = 2) -> dict:
    """How the network does on held-out faces, clean and each with `variants` made-up
    obstructions: IoU with the true mask (and the plain hull's IoU, what mask mode dst gets);
    the mean mask it keeps on the visible face, and the share of the obstructed face it leaves
    out (the hull leaves out none)."""
    rng = np.random.default_rng(seed)
    faces, truths, hulls = [], [], []
    for k in range(len(data)):
        img, mask = make_sample(data, k, rng, occlusion=0.0, augment=False)
        faces.append(img), truths.append(mask), hulls.append(None)
        for _ in range(variants):
            o_img, o_mask = make_sample(data, k, rng, occlusion=1.0, augment=False)
            faces.append(o_img), truths.append(o_mask), hulls.append(mask)
    pred = model.predict(np.stack(faces)) if faces else []
    clean, occl, hull, kept, left_out = [], [], [], [], []
    for p, t, h in zip(pred, truths, hulls):
        if h is None:
            clean.append(iou(p, t))
            continue
        occl.append(iou(p, t))
        hull.append(iou(h, t))
        kept.append(float(p[t > 0.5].mean()) if (t > 0.5).any() else 1.0)
        covered = (h > 0.5) & (t < 0.5)
        if covered.any():
            left_out.append(1 - float(p[covered].mean()))
    return {"held_out_faces": len(data), "iou_clean": _mean(clean), "iou_obstructed": _mean(occl),
            "iou_obstructed_hull": _mean(hull), "visible_kept": _mean(kept),
            "obstruction_left_out": _mean(left_out)}


def _mean(values: list) -> float:
    return float(np.mean(values)) if values else float("nan")


def train_from_facesets(folders: list[Path], model_dir: Path, resolution: int = 128,
                        face_type: str = "full", steps: int = 1500, holdout: float = 0.1,
                        progress: Callable[[int, float], None] | None = None,
                        engine: str = "torch", device: Any = None) -> tuple[MaskNet, dict]:
    """Train on the faces of `folders` (every 10th kept aside to measure), save into
    `model_dir` (resuming a stopped run from `model_dir/masknet_training/`); returns
    (network, report)."""
    if resolution % 32 or not 32 <= resolution <= 512:
        raise UserError(f"mask network resolution {resolution} must be a multiple of 32 "
                        "between 32 and 512")
    folders = [Path(f) for f in folders if Path(f).is_dir()]
    if not folders:
        raise UserError("no aligned face folders to train the mask network on; run `python -m "
                        "app extract src` and `python -m app extract dst` first")
    data = load_faces(folders, resolution, face_type)
    every = max(2, int(round(1 / holdout)))
    held = np.arange(len(data)) % every == 0
    if held.all() or len(data) < 3:
        raise UserError("the mask network needs at least 3 aligned faces (one is kept aside to "
                        "measure it); extract more faces", folders[0])
    from app.masknet import checkpoint

    ckpt = Path(model_dir) / checkpoint.FOLDER
    model = train(data.subset(~held), resolution, face_type, steps, progress=progress,
                  checkpoint_dir=ckpt, engine=engine, device=device)
    report = evaluate(model, data.subset(held))
    model.info.update(report)
    model.save(model_dir)
    checkpoint.remove(ckpt)
    return model, report


def train_masknet(ws, model_dir: Path, face_type: str = "full", resolution: int = 128,
                  steps: int = 2000, sides: tuple[str, ...] = ("src", "dst"),
                  engine: str = "torch", device: Any = None):
    """Train the mask network on the workspace's aligned faces with a progress bar on `engine`
    and `device`, save it, print how it does on held-out faces; returns it."""
    from app.progress import step_bar

    folders = [ws.aligned_dir(side) for side in sides]
    with step_bar(steps, "training the mask network") as tick:
        model, report = train_from_facesets(folders, model_dir, resolution, face_type, steps,
                                            progress=tick, engine=engine, device=device)
    print(f"mask network on {report['held_out_faces']} held-out faces: IoU "
          f"{report['iou_clean']:.3f} clean; with made-up obstructions {report['iou_obstructed']:.3f}"
          f" (the landmark hull: {report['iou_obstructed_hull']:.3f}), "
          f"{100 * report['obstruction_left_out']:.0f}% of the obstructions left out")
    if not report["iou_clean"] >= 0.85:
        print("warning: the mask network does not fit the faces well yet (IoU on clean held-out "
              "faces under 0.85); train it longer (it is replaced): python -m app mask "
              f"train --steps {max(2000, 2 * steps)}")
    return model
