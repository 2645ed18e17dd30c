"""The mask network: a small U-Net from an aligned face to its visible-face mask.

Written on the engine layer API (backends.layers) like the face models, so it trains and runs
on either engine (torch or OpenCL) and the chosen device, and is stored by the same checkpoint
code: safetensors weights + a JSON description (never pickle), beside the face model it serves.
Its parameter names are those the torch.nn version saved, so its files still load. Inference
takes faces of any size and returns masks of that size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from app.errors import UserError
from app.fileio import atomic_write_text
from backends import layers as L

WEIGHTS_NAME = "masknet.safetensors"
INFO_NAME = "masknet.json"


def _conv(cin: int, cout: int, k: int, stride: int = 1, padding: int | None = None) -> L.Conv2D:
    """A conv with PyTorch's default init scale, U(+-1/sqrt(fan_in)) (what the network was
    tuned with; zero biases)."""
    return L.Conv2D(cin, cout, k, stride, init=f"uniform:{1 / np.sqrt(cin * k * k)}",
                    padding=padding)


class _Stem(L.Module):
    """conv 4x4 stride 2 + LeakyReLU 0.1, conv 3x3 + LeakyReLU 0.1 (halves H and W)."""

    def __init__(self, cout: int):
        self.conv1, self.conv2 = _conv(3, cout, 4, 2, 1), _conv(cout, cout, 3)

    def children(self) -> Iterator[tuple[str, L.Module]]:
        yield from (("0", self.conv1), ("2", self.conv2))  # the torch.nn.Sequential's names

    def __call__(self, F, P, x):
        return F.leaky_relu(self.conv2(F, P, F.leaky_relu(self.conv1(F, P, x), 0.1)), 0.1)


class _Block(L.Module):
    """(conv 3x3 + GroupNorm(4) + LeakyReLU 0.1) x 2, the first conv with `stride`."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        self.conv1, self.norm1 = _conv(cin, cout, 3, stride), L.GroupNorm(4, cout)
        self.conv2, self.norm2 = _conv(cout, cout, 3), L.GroupNorm(4, cout)

    def children(self) -> Iterator[tuple[str, L.Module]]:
        yield from (("0", self.conv1), ("1", self.norm1), ("3", self.conv2), ("4", self.norm2))

    def __call__(self, F, P, x):
        x = F.leaky_relu(self.norm1(F, P, self.conv1(F, P, x)), 0.1)
        return F.leaky_relu(self.norm2(F, P, self.conv2(F, P, x)), 0.1)


class UNet(L.Module):
    """A U-Net: a stride-2 stem, `depth` stride-2 levels (channels doubling up to 8x), skip
    connections, one logit per pixel at the input's size (bilinear x2 up). GroupNorm, never
    batch statistics: those would go stale between a training batch and one face at merge."""

    def __init__(self, channels: int = 16, depth: int = 4):
        self.depth = depth
        widths = [channels * min(2 ** i, 8) for i in range(depth + 1)]
        self.down = [_Stem(widths[0])] + [_Block(widths[i - 1], widths[i], 2)
                                          for i in range(1, depth + 1)]
        self.up = [_Block(widths[i + 1] + widths[i], widths[i]) for i in range(depth)]
        self.head = _conv(widths[0], 1, 1)

    def __call__(self, F, P, x):
        skips = []
        for d in self.down:
            x = d(F, P, x)
            skips.append(x)
        x = skips.pop()
        for i in reversed(range(self.depth)):
            x = self.up[i](F, P, F.concat([F.upsample_bilinear2x(x), skips.pop()], 1))
        return F.upsample_bilinear2x(self.head(F, P, x))


def build(channels: int = 16, depth: int = 4, engine: str = "torch", device: Any = None,
          seed: int = 0) -> tuple[UNet, Any]:
    """(network, engine holding its freshly initialised weights) on `engine` and `device`."""
    from backends import get_engine

    net = UNet(channels, depth)
    eng = get_engine(engine, device)
    eng.init_params(net.specs(), seed=seed)
    return net, eng


@dataclass
class MaskNet:
    """A trained mask network for aligned faces of `face_type` at `resolution`, on an engine
    (torch or OpenCL, the chosen device)."""

    net: UNet | None
    resolution: int
    face_type: str
    channels: int = 16
    depth: int = 4
    info: dict = field(default_factory=dict)
    engine: Any = None

    def predict(self, faces: np.ndarray, batch: int = 16) -> np.ndarray:
        """float32 [N, S, S, 3] BGR 0..1 faces (this network's face type, any S) -> [N, S, S]
        masks in 0..1."""
        faces = np.asarray(faces, np.float32)
        res, n = self.resolution, len(faces)
        size = faces.shape[1] if faces.ndim == 4 else res
        x = np.stack([_resize(f, res) for f in faces]) if n and size != res else faces
        out = np.zeros((n, res, res), np.float32)
        for i in range(0, n, batch):
            nchw = np.ascontiguousarray(x[i:i + batch].transpose(0, 3, 1, 2))
            out[i:i + batch] = self.engine.predict(
                lambda F, P, b: F.sigmoid(self.net(F, P, b["x"])), {"x": nchw})[:, 0]
        if size != res:
            out = np.stack([_resize(m, size) for m in out]) if n else np.zeros((0, size, size),
                                                                                np.float32)
        return np.clip(out, 0, 1)

    def save(self, model_dir: Path) -> None:
        """Weights (the face models' checkpoint code, safetensors) and a JSON description."""
        from backends.checkpoint import save_state

        model_dir.mkdir(parents=True, exist_ok=True)
        weights = {k: v for k, v in self.engine.state_dict().items() if k in self.engine.params}
        save_state(model_dir / WEIGHTS_NAME, weights, {"net": "masknet"})
        info = dict(self.info, resolution=self.resolution, face_type=self.face_type,
                    channels=self.channels, depth=self.depth)
        atomic_write_text(model_dir / INFO_NAME, json.dumps(info, indent=2))


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def load(model_dir: Path, engine: str = "torch", device: Any = None) -> MaskNet | None:
    """The mask network stored in `model_dir` on `engine` and `device`, or None when there is
    none yet."""
    weights, info_path = model_dir / WEIGHTS_NAME, model_dir / INFO_NAME
    if not weights.exists() or not info_path.exists():
        return None
    try:
        info = json.loads(info_path.read_text("utf-8"))
        channels, depth = int(info["channels"]), int(info["depth"])
        net, eng = build(channels, depth, engine, device)
        eng.load(weights)
        res, face_type = int(info["resolution"]), str(info["face_type"])
    except Exception as exc:  # damaged, foreign or older files: say which and what to do
        raise UserError(f"the mask network cannot be loaded ({exc}); delete {WEIGHTS_NAME} and "
                        f"{INFO_NAME} to retrain it (python -m app mask train)",
                        model_dir) from None
    return MaskNet(net, res, face_type, channels, depth, info, eng)
