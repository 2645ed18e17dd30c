"""The mask network: a small U-Net from an aligned face to its visible-face mask.

Stored in the model folder as safetensors weights + a JSON description (never pickle), beside
the face model it serves. Inference takes faces of any size and returns masks of that size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.errors import UserError
from app.fileio import atomic_write_text

WEIGHTS_NAME = "masknet.safetensors"
INFO_NAME = "masknet.json"


def build(channels: int = 16, depth: int = 4):
    """A U-Net: `depth` stride-2 levels (channels doubling up to 8x), skip connections,
    one logit per pixel. Plain convolutions and LeakyReLU: no batch statistics to go stale
    between a training batch and one face at merge time."""
    import torch
    from torch import nn

    def block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.GroupNorm(4, cout),
                             nn.LeakyReLU(0.1), nn.Conv2d(cout, cout, 3, 1, 1),
                             nn.GroupNorm(4, cout), nn.LeakyReLU(0.1))

    widths = [channels * min(2 ** i, 8) for i in range(depth + 1)]
    stem = nn.Sequential(nn.Conv2d(3, widths[0], 4, 2, 1), nn.LeakyReLU(0.1),
                         nn.Conv2d(widths[0], widths[0], 3, 1, 1), nn.LeakyReLU(0.1))

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.ModuleList([stem] + [
                block(widths[i - 1], widths[i], 2) for i in range(1, depth + 1)])
            self.up = nn.ModuleList([block(widths[i + 1] + widths[i], widths[i])
                                     for i in range(depth)])
            self.head = nn.Conv2d(widths[0], 1, 1)

        def forward(self, x):
            skips = []
            for d in self.down:
                x = d(x)
                skips.append(x)
            x = skips.pop()
            for i in reversed(range(depth)):
                x = nn.functional.interpolate(x, scale_factor=2, mode="bilinear",
                                              align_corners=False)
                x = self.up[i](torch.cat([x, skips.pop()], 1))
            return nn.functional.interpolate(self.head(x), scale_factor=2, mode="bilinear",
                                             align_corners=False)

    torch.manual_seed(0)
    return UNet()


@dataclass
class MaskNet:
    """A trained mask network for aligned faces of `face_type` at `resolution`."""

    net: object
    resolution: int
    face_type: str
    channels: int = 16
    depth: int = 4
    info: dict = field(default_factory=dict)

    def predict(self, faces: np.ndarray, batch: int = 16) -> np.ndarray:
        """float32 [N, S, S, 3] BGR 0..1 faces (this network's face type, any S) -> [N, S, S]
        masks in 0..1."""
        import torch

        faces = np.asarray(faces, np.float32)
        res, n = self.resolution, len(faces)
        size = faces.shape[1] if faces.ndim == 4 else res
        x = np.stack([_resize(f, res) for f in faces]) if n and size != res else faces
        out = np.zeros((n, res, res), np.float32)
        with torch.inference_mode():
            for i in range(0, n, batch):
                t = torch.from_numpy(np.ascontiguousarray(x[i:i + batch].transpose(0, 3, 1, 2)))
                out[i:i + batch] = torch.sigmoid(self.net(t))[:, 0].numpy()
        if size != res:
            out = np.stack([_resize(m, size) for m in out]) if n else np.zeros((0, size, size),
                                                                                np.float32)
        return np.clip(out, 0, 1)

    def save(self, model_dir: Path) -> None:
        from backends.checkpoint import save_state  # the face models' checkpoint code

        model_dir.mkdir(parents=True, exist_ok=True)
        save_state(model_dir / WEIGHTS_NAME,
                   {k: v.detach().cpu().numpy() for k, v in self.net.state_dict().items()})
        info = dict(self.info, resolution=self.resolution, face_type=self.face_type,
                    channels=self.channels, depth=self.depth)
        atomic_write_text(model_dir / INFO_NAME, json.dumps(info, indent=2))


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def load(model_dir: Path) -> MaskNet | None:
    """The mask network stored in `model_dir`, or None when there is none yet."""
    weights, info_path = model_dir / WEIGHTS_NAME, model_dir / INFO_NAME
    if not weights.exists() or not info_path.exists():
        return None
    import torch

    from backends.checkpoint import load_state

    try:
        info = json.loads(info_path.read_text("utf-8"))
        channels, depth = int(info["channels"]), int(info["depth"])
        net = build(channels, depth)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in load_state(weights)[0].items()})
        res, face_type = int(info["resolution"]), str(info["face_type"])
    except Exception as exc:  # damaged or foreign files: say which and what to do
        raise UserError(f"the mask network cannot be loaded ({exc}); delete {WEIGHTS_NAME} and "
                        f"{INFO_NAME} to retrain it (python -m app mask train)",
                        model_dir) from None
    net.eval()
    return MaskNet(net, res, face_type, channels, depth, info)
