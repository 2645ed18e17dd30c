"""A tiny autoencoder written against the layer API: the reference for model authors, and the
net the engine tests train on both engines."""

from __future__ import annotations

import numpy as np

from backends import layers as L


class TinyAutoencoder(L.Module):
    """res x res x 3 -> two downscales -> dense bottleneck -> two upscales -> sigmoid image."""

    def __init__(self, res: int = 16, ch: int = 8, bottleneck: int = 32):
        self.res, self.ch = res, ch
        s = res // 4
        self.down1 = L.Downscale(3, ch)
        self.down2 = L.Downscale(ch, ch * 2)
        self.enc_dense = L.Dense(ch * 2 * s * s, bottleneck)
        self.dec_dense = L.Dense(bottleneck, ch * 2 * s * s)
        self.up1 = L.Upscale(ch * 2, ch)
        self.res1 = L.ResBlock(ch)
        self.up2 = L.Upscale(ch, ch)
        self.to_rgb = L.Conv2D(ch, 3, 5)

    def encode(self, F, P, x):
        x = self.down2(F, P, self.down1(F, P, x))
        return self.enc_dense(F, P, F.flatten(x))

    def decode(self, F, P, z):
        s = self.res // 4
        x = F.reshape(self.dec_dense(F, P, z), (z.shape[0], self.ch * 2, s, s))
        x = self.up2(F, P, self.res1(F, P, self.up1(F, P, x)))
        return F.sigmoid(self.to_rgb(F, P, x))

    def __call__(self, F, P, x):
        return self.decode(F, P, self.encode(F, P, x))


def loss_fn(model: TinyAutoencoder):
    """DFL-style reconstruction loss: 10 * DSSIM + 10 * MSE."""
    def fn(F, P, batch):
        y = model(F, P, batch["x"])
        k = max(3, int(model.res / 11.6) | 1)
        return {"loss": 10 * F.dssim(batch["x"], y, kernel_size=k) + 10 * F.mse(batch["x"], y)}
    return fn


def sample_batch(n: int = 4, res: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """Smooth random images (blurred noise): structured enough for DSSIM to mean something."""
    rng = np.random.default_rng(seed)
    low = rng.random((n, 3, res // 4, res // 4)).astype(np.float32)
    x = low.repeat(4, axis=2).repeat(4, axis=3)
    return {"x": np.ascontiguousarray(x)}
