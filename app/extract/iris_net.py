"""MediaPipe's iris landmark net (iris_landmark.tflite, Apache-2.0) on the engine layer API.

Only the iris half of the model: it shares a trunk with an eye-contour head (71 points) that
extraction does not need, so that head and its nine blocks are left out. Written once against
backends/layers.py, like the MTCNN nets (app/extract/mtcnn_nets.py), so it runs on torch
(CPU or GPU) and on the OpenCL engine; extraction must not depend on OpenVINO, which only one
portable build carries. The weights are app/extract/weights/iris_landmark.safetensors,
converted from the tflite file by tools/convert_iris.py; the parameter names here are that
file's names, and the converter checks the graph's layer order and shapes against them.

The graph (read with OpenVINO): a 3x3 stride-2 conv with TensorFlow's "SAME" padding, which
for 64 -> 32 pads one row and column at the bottom/right only (not one each side, as a
symmetric padding of 1 would), then residual blocks: 1x1 conv (or 2x2 stride 2 where the
block halves the map) + PReLU, depthwise 3x3, 1x1 conv, plus the input (max-pooled 2x2 and
zero-padded in channels where the block downsamples / widens), PReLU. The head is a 2x2 conv
on the last 2x2 map: 15 numbers, five iris points (centre, then four on the rim) x (x, y, z),
in pixels of the 64x64 input crop.

Input: RGB in [0, 1], NCHW [N, 3, 64, 64], the crop as pupils.py makes it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backends import layers as L

WEIGHTS = Path(__file__).resolve().parent / "weights" / "iris_landmark.safetensors"
SIZE = 64
POINTS = 5


class Depthwise(L.Module):
    """3x3 depthwise conv with bias, zero padding 1 (TensorFlow's SAME at stride 1)."""

    def __init__(self, ch: int):
        self.ch = ch

    def own_params(self) -> dict[str, L.ParamSpec]:
        return {"weight": L.ParamSpec((self.ch, 1, 3, 3)), "bias": L.ParamSpec((self.ch,), "zeros")}

    def __call__(self, F, P, x):
        return F.conv2d(x, self.p(P, "weight"), self.p(P, "bias"), padding=1, groups=self.ch)


def _zeros_like_part(F, x, channels: int | None = None, h: int | None = None,
                     w: int | None = None):
    n, c, xh, xw = (int(s) for s in x.shape)
    shape = (n, channels or c, h or xh, w or xw)
    return F.const(np.zeros(shape, np.float32))


class Block(L.Module):
    """Residual block; `down`: the branch starts with a 2x2 stride-2 conv and the skip is
    max-pooled 2x2, its channels zero-padded up to `cout`."""

    def __init__(self, cin: int, mid: int, cout: int | None = None, down: bool = False):
        self.cin, self.cout, self.down = cin, cout or cin, down
        k = 2 if down else 1
        self.squeeze, self.prelu_in = L.Conv2D(cin, mid, k, stride=k, padding=0), L.PReLU(mid)
        self.depthwise = Depthwise(mid)
        self.expand, self.prelu_out = L.Conv2D(mid, self.cout, 1, padding=0), L.PReLU(self.cout)

    def __call__(self, F, P, x):
        y = self.prelu_in(F, P, self.squeeze(F, P, x))
        y = self.expand(F, P, self.depthwise(F, P, y))
        skip = x
        if self.down:
            skip = F.max_pool(x, 2)
            if self.cout > self.cin:
                skip = F.concat([skip, _zeros_like_part(F, skip, self.cout - self.cin)], 1)
        return self.prelu_out(F, P, y + skip)


def _stage(cin: int, mid: int, n: int, cout: int | None = None) -> list[Block]:
    """A downsampling block to `cout` channels, then n - 1 plain blocks."""
    cout = cout or cin
    return [Block(cin, mid, cout, down=True)] + [Block(cout, mid) for _ in range(n - 1)]


class IrisNet(L.Module):
    """64x64 RGB eye crop -> [N, 15]: five iris points (x, y, z), crop pixels."""

    def __init__(self):
        self.stem, self.stem_prelu = L.Conv2D(3, 64, 3, stride=2, padding=0), L.PReLU(64)
        # trunk: 32x32x64 (4 blocks), 16x16x128 (5), 8x8x128 (1); then the iris branch:
        # 8x8 (2 more), 4x4 (3), 2x2 (3), and the 2x2 head conv
        self.trunk = ([Block(64, 32) for _ in range(4)] + _stage(64, 64, 5, 128)
                      + _stage(128, 64, 1))
        self.iris = [Block(128, 64) for _ in range(2)] + _stage(128, 64, 3) + _stage(128, 64, 3)
        self.head = L.Conv2D(128, 15, 2, padding=0)

    def __call__(self, F, P, x):
        # TensorFlow SAME for a 3x3 stride-2 conv on an even size: one zero row/column after
        x = F.concat([x, _zeros_like_part(F, x, w=1)], 3)
        x = F.concat([x, _zeros_like_part(F, x, h=1)], 2)
        x = self.stem_prelu(F, P, self.stem(F, P, x))
        for block in self.trunk + self.iris:
            x = block(F, P, x)
        return F.reshape(self.head(F, P, x), (int(x.shape[0]), 15))


def load_engine(engine: str = "torch", device=None):
    """An engine holding the iris weights, and the model (torch in fp32: points, not
    pictures)."""
    from app.extract.net_weights import engine_with_weights
    model = IrisNet()
    return engine_with_weights(model, WEIGHTS, engine, device), model
