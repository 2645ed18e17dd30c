"""The engine ops `F` that model code calls. Each engine implements a handful of primitives;
everything else (losses, blur, depth_to_space) is written here once on top of them, so the
semantics are identical on every engine by construction.

Tensors also support Python arithmetic with tensors and numbers (`a + b`, `a * 0.5`, `1 - m`,
`a / b`, `-a`) and `.shape` on every engine.
"""

from __future__ import annotations

import numpy as np


def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """Normalised 2-D Gaussian window (DeepFaceLab's `_fspecial_gauss`)."""
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = coords ** 2 * (-0.5 / sigma ** 2)
    g = g[None, :] + g[:, None]
    g = np.exp(g - g.max())
    return (g / g.sum()).astype(np.float32)


class Ops:
    """Engine-neutral ops. Subclasses implement the primitives marked `primitive`."""

    # ---- primitives (each engine implements these) ------------------------------------------
    def conv2d(self, x, w, b=None, stride: int = 1, padding: int = 0, groups: int = 1):
        """primitive: NCHW conv with OIHW weights, symmetric zero padding."""
        raise NotImplementedError

    def dense(self, x, w, b=None):
        """primitive: x[N, fin] @ w[fin, fout] (+ b)."""
        raise NotImplementedError

    def reshape(self, x, shape):
        """primitive"""
        raise NotImplementedError

    def transpose(self, x, axes):
        """primitive: permute axes."""
        raise NotImplementedError

    def concat(self, xs, axis: int = 1):
        """primitive"""
        raise NotImplementedError

    def leaky_relu(self, x, alpha: float = 0.1):
        """primitive"""
        raise NotImplementedError

    def relu(self, x):
        """primitive"""
        raise NotImplementedError

    def sigmoid(self, x):
        """primitive"""
        raise NotImplementedError

    def tanh(self, x):
        """primitive"""
        raise NotImplementedError

    def sqrt(self, x):
        """primitive"""
        raise NotImplementedError

    def mean(self, x, axis=None, keepdims: bool = False):
        """primitive: mean over `axis` (int, tuple or None = all)."""
        raise NotImplementedError

    def sum(self, x, axis=None, keepdims: bool = False):
        """primitive"""
        raise NotImplementedError

    def clip(self, x, lo: float, hi: float):
        """primitive"""
        raise NotImplementedError

    def exp(self, x):
        """primitive"""
        raise NotImplementedError

    def log(self, x):
        """primitive: natural logarithm"""
        raise NotImplementedError

    def avg_pool(self, x, k: int):
        """primitive: k x k average pooling, stride k."""
        raise NotImplementedError

    def max_pool(self, x, k: int, stride: int | None = None, ceil: bool = False):
        """primitive: k x k max pooling, stride `stride` (default k), no padding; `ceil` keeps
        a last partial window (torch's ceil_mode, Caffe's pooling: MTCNN needs it)."""
        raise NotImplementedError

    def const(self, array: np.ndarray):
        """primitive: a constant (no gradient) from numpy, on the engine's device."""
        raise NotImplementedError

    def stop_gradient(self, x):
        """primitive"""
        raise NotImplementedError

    def upsample(self, x, factor: int):
        """primitive: nearest-neighbour upsampling by an integer factor."""
        raise NotImplementedError

    # ---- derived ops (shared) ---------------------------------------------------------------
    def add(self, a, b):
        return a + b

    def mul(self, a, b):
        return a * b

    def square(self, x):
        return x * x

    def abs(self, x):
        return self.relu(x) + self.relu(-x)

    def prelu(self, x, alpha):
        """Parametric ReLU, one slope per channel (axis 1): x if x > 0 else alpha * x."""
        shape = (1, alpha.shape[0]) + (1,) * (len(x.shape) - 2)
        return self.relu(x) - self.reshape(alpha, shape) * self.relu(-x)

    def group_norm(self, x, groups: int, weight=None, bias=None, eps: float = 1e-5):
        """GroupNorm (torch.nn.GroupNorm's formula): each sample's channels in `groups` groups,
        each group normalised by its own mean and (biased) variance, then a per-channel
        `weight` and `bias` (1-D, shape (C,)). Needs no batch statistics, so a net trained on
        batches behaves the same on one face."""
        n, c = x.shape[0], x.shape[1]
        rest = tuple(x.shape[2:])
        g = self.reshape(x, (n, groups, -1))
        centred = g - self.mean(g, 2, True)
        var = self.mean(self.square(centred), 2, True)
        y = self.reshape(centred / self.sqrt(var + eps), (n, c) + rest)
        shape = (1, c) + (1,) * len(rest)
        if weight is not None:
            y = y * self.reshape(weight, shape)
        if bias is not None:
            y = y + self.reshape(bias, shape)
        return y

    def upsample_bilinear2x(self, x):
        """x2 bilinear upsampling with torch's align_corners=False (half-pixel centres): nearest
        x2, then a [1/4, 1/2, 1/4] window in each direction, divided at the borders by the
        weight that fell inside (what clamping the source pixel gives)."""
        h, w = x.shape[2] * 2, x.shape[3] * 2
        k = np.array([0.25, 0.5, 0.25], np.float32)
        y = self.depthwise(self.upsample(x, 2), np.outer(k, k), padding=1)

        def inside(size: int) -> np.ndarray:
            r = np.ones(size, np.float32)
            r[[0, -1]] = 0.75
            return r
        return y * self.const((1.0 / np.outer(inside(h), inside(w)))[None, None])

    def flatten(self, x):
        """[N, ...] -> [N, prod(...)]"""
        return self.reshape(x, (x.shape[0], -1))

    def depth_to_space(self, x, r: int = 2):
        """[N, C*r*r, H, W] -> [N, C, H*r, W*r] (pixel shuffle order)."""
        n, c, h, w = x.shape
        c2 = c // (r * r)
        x = self.reshape(x, (n, c2, r, r, h, w))
        x = self.transpose(x, (0, 1, 4, 2, 5, 3))
        return self.reshape(x, (n, c2, h * r, w * r))

    def space_to_depth(self, x, r: int = 2):
        """Inverse of depth_to_space."""
        n, c, h, w = x.shape
        x = self.reshape(x, (n, c, h // r, r, w // r, r))
        x = self.transpose(x, (0, 1, 3, 5, 2, 4))
        return self.reshape(x, (n, c * r * r, h // r, w // r))

    def depthwise(self, x, kernel2d: np.ndarray, padding: int = 0):
        """Same 2-D kernel applied to every channel (no gradient into the kernel)."""
        c = x.shape[1]
        k = np.ascontiguousarray(np.broadcast_to(kernel2d, (c, 1) + kernel2d.shape), np.float32)
        return self.conv2d(x, self.const(k), None, 1, padding, groups=c)

    def gaussian_blur(self, x, radius: float):
        """Blur keeping the size (masks, style loss); DeepFaceLab's window max(3, int(4r + 1)),
        made odd so the padding is symmetric."""
        if radius <= 0:
            return x
        size = max(3, int(4 * radius + 1))
        size += 1 - size % 2
        return self.depthwise(x, gaussian_kernel(size, radius), padding=size // 2)

    def softplus(self, x):
        """log(1 + e^x) without overflow: relu(x) + log(1 + e^-|x|)."""
        return self.relu(x) + self.log(self.exp(-self.abs(x)) + 1.0)

    def bce_with_logits(self, logits, label: float):
        """Mean sigmoid cross-entropy of `logits` against a constant 0 or 1 label (TF's
        sigmoid_cross_entropy_with_logits, the GAN and true-face losses of DeepFaceLab 2.0), or
        against a tensor of labels in 0..1 shaped like `logits` (the mask network's)."""
        return self.mean(self.softplus(logits) - logits * label)

    def mse(self, a, b):
        return self.mean(self.square(a - b))

    def mae(self, a, b):
        return self.mean(self.abs(a - b))

    def dssim(self, y_true, y_pred, kernel_size: int = 11, max_value: float = 1.0,
              k1: float = 0.01, k2: float = 0.03):
        """DeepFaceLab's DSSIM, (1 - SSIM) / 2, Gaussian window sigma 1.5, 'valid' windows.
        DFL's SAE uses kernel_size = int(resolution / 11.6) and max_value 2 for tanh outputs."""
        kern = gaussian_kernel(kernel_size, 1.5)
        red = lambda t: self.depthwise(t, kern)  # noqa: E731
        c1, c2 = (k1 * max_value) ** 2, (k2 * max_value) ** 2
        mean0, mean1 = red(y_true), red(y_pred)
        num0 = mean0 * mean1 * 2.0
        den0 = self.square(mean0) + self.square(mean1)
        luminance = (num0 + c1) / (den0 + c1)
        num1 = red(y_true * y_pred) * 2.0
        den1 = red(self.square(y_true) + self.square(y_pred))
        cs = (num1 - num0 + c2) / (den1 - den0 + c2)
        ssim = self.mean(luminance * cs, axis=(2, 3))
        return self.mean((1.0 - ssim) / 2.0)

    def style_loss(self, content, style, blur_radius: float = 0.0, weight: float = 1.0):
        """DeepFaceLab's style loss: match per-channel mean and std (after an optional blur)."""
        if blur_radius > 0:
            content, style = self.gaussian_blur(content, blur_radius), self.gaussian_blur(style, blur_radius)
        cm, sm = self.mean(content, (2, 3), True), self.mean(style, (2, 3), True)
        cs = self.sqrt(self.mean(self.square(content - cm), (2, 3), True) + 1e-5)
        ss = self.sqrt(self.mean(self.square(style - sm), (2, 3), True) + 1e-5)
        per = self.sum(self.square(cm - sm), (1, 2, 3)) + self.sum(self.square(cs - ss), (1, 2, 3))
        return self.mean(per) * (weight / content.shape[1])

    def gram(self, x):
        """Gram matrix per sample, [N, C, C] / (H*W)."""
        n, c, h, w = x.shape
        f = self.reshape(x, (n, c, h * w))
        return self.matmul(f, self.transpose(f, (0, 2, 1))) / float(h * w)

    def matmul(self, a, b):
        return a @ b
