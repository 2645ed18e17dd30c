"""Face super resolution (x2) trained on the user's own src faces: no download needed.

A small ESPCN-style network predicts the detail that bicubic upscaling misses (it learns the
residual over bicubic), trained on high-resolution src faces and their downscaled copies. Merge
applies it to the predicted face, so the pasted face is sharper than the model's resolution.
Stored in the model folder as safetensors weights + a JSON description (never pickle).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from app.errors import UserError
from app.fileio import atomic_write_text

WEIGHTS_NAME = "superres_x2.safetensors"
INFO_NAME = "superres_x2.json"
SCALE = 2


def _build(features: int, layers: int):
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            body = [nn.Conv2d(3, features, 5, padding=2), nn.PReLU(features)]
            for _ in range(layers - 2):
                body += [nn.Conv2d(features, features, 3, padding=1), nn.PReLU(features)]
            body += [nn.Conv2d(features, 3 * SCALE * SCALE, 3, padding=1), nn.PixelShuffle(SCALE)]
            self.body = nn.Sequential(*body)

        def forward(self, lr, lr_up):
            return lr_up + self.body(lr)

    torch.manual_seed(0)
    return Net()


@dataclass
class SuperRes:
    """A trained x2 face upscaler."""

    net: object
    features: int
    layers: int
    info: dict

    def upscale(self, faces: np.ndarray, batch: int = 16) -> np.ndarray:
        """float32 [N, h, w, 3] BGR 0..1 -> [N, 2h, 2w, 3]."""
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(faces), batch):
                x = torch.from_numpy(np.ascontiguousarray(faces[i:i + batch].transpose(0, 3, 1, 2)))
                up = torch.nn.functional.interpolate(x, scale_factor=SCALE, mode="bicubic",
                                                     align_corners=False)
                out.append(self.net(x, up).clamp(0, 1).numpy().transpose(0, 2, 3, 1))
        return np.concatenate(out, 0) if out else np.zeros((0,) + faces.shape[1:], np.float32)

    def save(self, model_dir: Path) -> None:
        from backends.checkpoint import save_state  # the face models' checkpoint code

        model_dir.mkdir(parents=True, exist_ok=True)
        save_state(model_dir / WEIGHTS_NAME,
                   {k: v.detach().cpu().numpy() for k, v in self.net.state_dict().items()})
        info = dict(self.info, features=self.features, layers=self.layers, scale=SCALE)
        atomic_write_text(model_dir / INFO_NAME, json.dumps(info, indent=2))


def load(model_dir: Path) -> SuperRes | None:
    """The upscaler stored in `model_dir`, or None when there is none yet."""
    weights, info_path = model_dir / WEIGHTS_NAME, model_dir / INFO_NAME
    if not weights.exists() or not info_path.exists():
        return None
    import torch

    from backends.checkpoint import load_state

    try:
        info = json.loads(info_path.read_text("utf-8"))
        net = _build(int(info["features"]), int(info["layers"]))
        net.load_state_dict({k: torch.from_numpy(v) for k, v in load_state(weights)[0].items()})
    except Exception as exc:  # damaged or foreign files: say which and what to do
        raise UserError(f"the super resolution network cannot be loaded ({exc}); delete "
                        f"{WEIGHTS_NAME} and {INFO_NAME} to retrain it", model_dir) from None
    net.eval()
    return SuperRes(net, int(info["features"]), int(info["layers"]), info)


def downscale(hr: np.ndarray) -> np.ndarray:
    """The low-resolution copy the network learns to undo (area average, as a camera would)."""
    h, w = hr.shape[:2]
    return cv2.resize(hr, (w // SCALE, h // SCALE), interpolation=cv2.INTER_AREA)


def bicubic(lr: np.ndarray) -> np.ndarray:
    h, w = lr.shape[:2]
    return np.clip(cv2.resize(lr, (w * SCALE, h * SCALE), interpolation=cv2.INTER_CUBIC), 0, 1)


def load_src_faces(paths: list[Path], size: int) -> list[np.ndarray]:
    """Aligned src faces resized to `size` (the upscaler's output size), float32 BGR 0..1."""
    faces = []
    for p in paths:
        img = cv2.imdecode(np.fromfile(str(p), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            continue  # unreadable faces are skipped; the face set tools report them
        interp = cv2.INTER_AREA if img.shape[0] >= size else cv2.INTER_CUBIC
        faces.append(cv2.resize(img, (size, size), interpolation=interp).astype(np.float32) / 255)
    return faces


def _patches(faces: list[np.ndarray], n: int, patch: int, rng: np.random.Generator):
    hr = np.empty((n, patch, patch, 3), np.float32)
    for i in range(n):
        f = faces[rng.integers(len(faces))]
        y, x = rng.integers(0, f.shape[0] - patch + 1), rng.integers(0, f.shape[1] - patch + 1)
        p = f[y:y + patch, x:x + patch]
        hr[i] = p[:, ::-1] if rng.random() < 0.5 else p
    lr = np.stack([downscale(p) for p in hr])
    return lr, hr


def train(faces: list[np.ndarray], steps: int = 1500, batch: int = 16, patch: int = 48,
          features: int = 32, layers: int = 4, lr: float = 2e-3, seed: int = 0,
          progress: Callable[[int, float], None] | None = None) -> SuperRes:
    """Train on high-resolution faces (float32 0..1), learning to undo `downscale`."""
    import torch

    if len(faces) < 2:
        raise UserError("super resolution needs at least 2 aligned src faces to train on; "
                        "extract src faces first (python -m app extract src)")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = _build(features, layers)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    started = time.time()
    loss_v = float("nan")
    for step in range(steps):
        lr_np, hr_np = _patches(faces, batch, patch, rng)
        x = torch.from_numpy(lr_np.transpose(0, 3, 1, 2).copy())
        y = torch.from_numpy(hr_np.transpose(0, 3, 1, 2).copy())
        up = torch.nn.functional.interpolate(x, scale_factor=SCALE, mode="bicubic",
                                             align_corners=False)
        loss = torch.nn.functional.l1_loss(net(x, up), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        loss_v = float(loss.detach())
        if progress is not None:
            progress(step + 1, loss_v)
    net.eval()
    info = {"steps": steps, "faces": len(faces), "patch": patch, "final_loss": loss_v,
            "train_seconds": round(time.time() - started, 1)}
    return SuperRes(net, features, layers, info)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM on the luma channel (Wang et al. 2004, Gaussian window sigma 1.5)."""
    ga = cv2.cvtColor(a.astype(np.float32), cv2.COLOR_BGR2GRAY).astype(np.float64)
    gb = cv2.cvtColor(b.astype(np.float32), cv2.COLOR_BGR2GRAY).astype(np.float64)
    c1, c2 = 0.01 ** 2, 0.03 ** 2

    def blur(x):
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    ma, mb = blur(ga), blur(gb)
    va, vb, cov = blur(ga * ga) - ma * ma, blur(gb * gb) - mb * mb, blur(ga * gb) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return float(s[5:-5, 5:-5].mean())


def evaluate(model: SuperRes, faces: list[np.ndarray]) -> dict:
    """PSNR/SSIM of bicubic and of the network against the original held-out faces."""
    lr = np.stack([downscale(f) for f in faces])
    sr = model.upscale(lr)
    res = {"faces": len(faces), "psnr_bicubic": [], "psnr_sr": [], "ssim_bicubic": [], "ssim_sr": []}
    for f, l, s in zip(faces, lr, sr):
        bc = bicubic(l)
        res["psnr_bicubic"].append(psnr(bc, f))
        res["psnr_sr"].append(psnr(s, f))
        res["ssim_bicubic"].append(ssim(bc, f))
        res["ssim_sr"].append(ssim(s, f))
    return {k: (float(np.mean(v)) if isinstance(v, list) else v) for k, v in res.items()}


def train_from_faceset(src_aligned: Path, model_dir: Path, size: int, steps: int = 3000,
                       holdout: float = 0.1, progress: Callable[[int, float], None] | None = None
                       ) -> tuple[SuperRes, dict]:
    """Train on the src face set at `size` (2x the model's resolution), keep every 10th face
    aside to measure PSNR/SSIM against bicubic, save into `model_dir`; returns (model, report)."""
    from app.faceset.face_file import list_faces

    paths = list_faces(src_aligned)
    faces = load_src_faces(paths, size)
    if len(faces) < 3:
        raise UserError("super resolution needs at least 3 aligned src faces; extract src faces "
                        "first (python -m app extract src)", src_aligned)
    every = max(2, int(round(1 / holdout)))
    held = faces[::every]
    train_set = [f for i, f in enumerate(faces) if i % every]
    model = train(train_set, steps=steps, progress=progress)
    report = evaluate(model, held)
    model.info.update(report, size=size)
    model.save(model_dir)
    return model, report
