"""MTCNN's three nets (Zhang et al. 2016) on the engine layer API, with the committed weights.

Written once against backends/layers.py, so the same nets run on torch (CPU, CUDA, ROCm, XPU,
MPS) and on the OpenCL engine. The weights are app/extract/weights/mtcnn.safetensors,
converted from facenet-pytorch's files by tools/convert_mtcnn_weights.py; parameter names
here match that file (`pnet.conv1.weight`, `rnet.prelu4.weight`, ...).

Shapes as trained: unpadded convolutions, per-channel PReLU, Caffe max pooling (ceil mode).
R-net and O-net flatten their last feature map in (W, H, C) order: the original Caffe models
were trained on transposed images, and facenet-pytorch's weights keep that order. The
2-way face/not-face softmax is returned as its face probability, sigmoid(l1 - l0), which is
the same number.
"""

from __future__ import annotations

from pathlib import Path

from backends import layers as L

WEIGHTS = Path(__file__).resolve().parent / "weights" / "mtcnn.safetensors"


def _valid(cin: int, cout: int, k: int) -> L.Conv2D:
    return L.Conv2D(cin, cout, k, padding=0)


def _face_prob(F, logits):
    """Softmax's second column of two logits: sigmoid(l1 - l0)."""
    return F.sigmoid(logits[:, 1:2] - logits[:, 0:1])


class PNet(L.Module):
    """Proposal net: fully convolutional, one 12x12 window per output cell (stride 2).
    Returns (face probability [N, 1, h, w], box offsets [N, 4, h, w])."""

    def __init__(self):
        self.conv1, self.prelu1 = _valid(3, 10, 3), L.PReLU(10)
        self.pool1 = L.MaxPool(2, 2, ceil=True)
        self.conv2, self.prelu2 = _valid(10, 16, 3), L.PReLU(16)
        self.conv3, self.prelu3 = _valid(16, 32, 3), L.PReLU(32)
        self.conv4_1, self.conv4_2 = _valid(32, 2, 1), _valid(32, 4, 1)

    def __call__(self, F, P, x):
        x = self.pool1(F, P, self.prelu1(F, P, self.conv1(F, P, x)))
        x = self.prelu2(F, P, self.conv2(F, P, x))
        x = self.prelu3(F, P, self.conv3(F, P, x))
        return _face_prob(F, self.conv4_1(F, P, x)), self.conv4_2(F, P, x)


def _flatten_whc(F, x):
    return F.flatten(F.transpose(x, (0, 3, 2, 1)))


class RNet(L.Module):
    """Refine net on 24x24 crops: (face probability [N, 1], box offsets [N, 4])."""

    def __init__(self):
        self.conv1, self.prelu1 = _valid(3, 28, 3), L.PReLU(28)
        self.pool1 = L.MaxPool(3, 2, ceil=True)
        self.conv2, self.prelu2 = _valid(28, 48, 3), L.PReLU(48)
        self.pool2 = L.MaxPool(3, 2, ceil=True)
        self.conv3, self.prelu3 = _valid(48, 64, 2), L.PReLU(64)
        self.dense4, self.prelu4 = L.Dense(576, 128), L.PReLU(128)
        self.dense5_1, self.dense5_2 = L.Dense(128, 2), L.Dense(128, 4)

    def __call__(self, F, P, x):
        x = self.pool1(F, P, self.prelu1(F, P, self.conv1(F, P, x)))
        x = self.pool2(F, P, self.prelu2(F, P, self.conv2(F, P, x)))
        x = self.prelu3(F, P, self.conv3(F, P, x))
        x = self.prelu4(F, P, self.dense4(F, P, _flatten_whc(F, x)))
        return _face_prob(F, self.dense5_1(F, P, x)), self.dense5_2(F, P, x)


class ONet(L.Module):
    """Output net on 48x48 crops: (face probability [N, 1], box offsets [N, 4], five points
    [N, 10] as 5 x then 5 y, fractions of the box)."""

    def __init__(self):
        self.conv1, self.prelu1 = _valid(3, 32, 3), L.PReLU(32)
        self.pool1 = L.MaxPool(3, 2, ceil=True)
        self.conv2, self.prelu2 = _valid(32, 64, 3), L.PReLU(64)
        self.pool2 = L.MaxPool(3, 2, ceil=True)
        self.conv3, self.prelu3 = _valid(64, 64, 3), L.PReLU(64)
        self.pool3 = L.MaxPool(2, 2, ceil=True)
        self.conv4, self.prelu4 = _valid(64, 128, 2), L.PReLU(128)
        self.dense5, self.prelu5 = L.Dense(1152, 256), L.PReLU(256)
        self.dense6_1, self.dense6_2, self.dense6_3 = (L.Dense(256, 2), L.Dense(256, 4),
                                                       L.Dense(256, 10))

    def __call__(self, F, P, x):
        x = self.pool1(F, P, self.prelu1(F, P, self.conv1(F, P, x)))
        x = self.pool2(F, P, self.prelu2(F, P, self.conv2(F, P, x)))
        x = self.pool3(F, P, self.prelu3(F, P, self.conv3(F, P, x)))
        x = self.prelu4(F, P, self.conv4(F, P, x))
        x = self.prelu5(F, P, self.dense5(F, P, _flatten_whc(F, x)))
        return (_face_prob(F, self.dense6_1(F, P, x)), self.dense6_2(F, P, x),
                self.dense6_3(F, P, x))


class MTCNN(L.Module):
    """The three nets under one root, named as in the weights file."""

    def __init__(self):
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()


def load_engine(engine: str = "torch", device=None):
    """An engine holding the MTCNN weights, and the model. torch runs in fp32 (boxes, not
    pictures: bf16 would move them)."""
    from app.extract.net_weights import engine_with_weights
    model = MTCNN()
    return engine_with_weights(model, WEIGHTS, engine, device), model
