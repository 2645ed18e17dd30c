"""The networks of DeepFaceLab 2.0's SAEHD (its core/leras/archis/DeepFakeArchi.py), on the
engine layer API: encoder, inter (bottleneck) and decoder with the -u, -d and -t variants.

- default: four stride-2 downscales (e, 2e, 4e, 8e channels) to 1/16; inter: dense to ae dims,
  dense to res/16 x res/16, one upscale; decoder: three upscales, each followed by a residual
  block, a 1x1 conv + sigmoid to BGR; a mask branch of three upscales (d_mask dims) + 1x1 conv.
- `u`: the flattened encoder output is pixel-normalised (x / sqrt(mean(x^2) + 1e-6)).
- `d`: the inter works at res/32 and the decoder ends with four convs (one 1x1, three 3x3) whose
  outputs fill the four sub-pixels of each 2x2 block (depth_to_space): a decoder at half the
  resolution outputs the full one, so the resolution doubles at about the same cost; the mask
  branch gets one more upscale.
- `t`: the encoder has a 5th downscale (8e) with residual blocks after the first and the last,
  the inter has no upscale, the decoder a 4th upscale + residual block (and the mask a 4th
  upscale).

Where ours differs: DFL's 'c' variant (x * cos(x) activations, undocumented in its questions)
is not offered. Upscales use pixel-shuffle channel order (torch's) where TF uses DCR; that only
lays the same function's weights out differently. Weights start glorot-uniform as there.
"""

from __future__ import annotations

import backends.layers as L


def pixel_norm(F, x):
    """DFL's nn.pixel_norm over the features of a flattened code."""
    return x / F.sqrt(F.mean(x * x, axis=1, keepdims=True) + 1e-6)


class HDEncoder(L.Module):
    def __init__(self, e_ch: int, opts: str):
        self.opts = opts
        if "t" in opts:
            chans = [3, e_ch, e_ch * 2, e_ch * 4, e_ch * 8, e_ch * 8]
            self.res_first = L.ResBlock(e_ch)
            self.res_last = L.ResBlock(e_ch * 8)
        else:
            chans = [3, e_ch, e_ch * 2, e_ch * 4, e_ch * 8]
        self.downs = [L.Downscale(chans[i], chans[i + 1]) for i in range(len(chans) - 1)]
        self.out_ch = e_ch * 8

    def out_res(self, res: int) -> int:
        return res // (32 if "t" in self.opts else 16)

    def __call__(self, F, P, x):
        for i, down in enumerate(self.downs):
            x = down(F, P, x)
            if "t" in self.opts and i == 0:
                x = self.res_first(F, P, x)
        if "t" in self.opts:
            x = self.res_last(F, P, x)
        x = F.flatten(x)
        return pixel_norm(F, x) if "u" in self.opts else x


class HDInter(L.Module):
    """Dense to `ae_ch`, dense to lowest x lowest x `out_ch`, an upscale (not with -t)."""

    def __init__(self, in_ch: int, ae_ch: int, out_ch: int, res: int, opts: str):
        self.opts, self.out_ch = opts, out_ch
        self.lowest = res // (32 if "d" in opts else 16)
        self.dense1 = L.Dense(in_ch, ae_ch)
        self.dense2 = L.Dense(ae_ch, self.lowest * self.lowest * out_ch)
        if "t" not in opts:
            self.up = L.Upscale(out_ch, out_ch)

    def __call__(self, F, P, x):
        x = self.dense2(F, P, self.dense1(F, P, x))
        x = F.reshape(x, (x.shape[0], self.out_ch, self.lowest, self.lowest))
        return x if "t" in self.opts else self.up(F, P, x)


class HDDecoder(L.Module):
    """Image and mask from one code: `(face, mask)`, both through a sigmoid."""

    def __init__(self, in_ch: int, d_ch: int, d_mask_ch: int, opts: str):
        self.opts = opts
        chans = [in_ch, d_ch * 8, d_ch * 8, d_ch * 4, d_ch * 2] if "t" in opts else \
            [in_ch, d_ch * 8, d_ch * 4, d_ch * 2]
        self.ups = [L.Upscale(chans[i], chans[i + 1]) for i in range(len(chans) - 1)]
        self.res = [L.ResBlock(c) for c in chans[1:]]
        mch = [in_ch, d_mask_ch * 8, d_mask_ch * 8, d_mask_ch * 4, d_mask_ch * 2] if "t" in opts \
            else [in_ch, d_mask_ch * 8, d_mask_ch * 4, d_mask_ch * 2]
        if "d" in opts:
            mch.append(d_mask_ch)
        self.mask_ups = [L.Upscale(mch[i], mch[i + 1]) for i in range(len(mch) - 1)]
        self.out_conv = L.Conv2D(d_ch * 2, 3, 1)
        if "d" in opts:
            self.out_convs = [L.Conv2D(d_ch * 2, 3, 3) for _ in range(3)]
        self.out_convm = L.Conv2D(mch[-1], 1, 1)

    def __call__(self, F, P, z):
        x = z
        for up, res in zip(self.ups, self.res):
            x = res(F, P, up(F, P, x))
        if "d" in self.opts:
            x = _subpixels(F, [self.out_conv(F, P, x)] + [c(F, P, x) for c in self.out_convs])
        else:
            x = self.out_conv(F, P, x)
        m = z
        for up in self.mask_ups:
            m = up(F, P, m)
        return F.sigmoid(x), F.sigmoid(self.out_convm(F, P, m))


def _subpixels(F, outs: list):
    """Four [N, 3, H, W] maps -> [N, 3, 2H, 2W], map k filling sub-pixel (k // 2, k % 2) of every
    2x2 block (DFL's concat + TF depth_to_space), via our pixel-shuffle order."""
    n, c, h, w = outs[0].shape
    x = F.reshape(F.concat(outs, 1), (n, 4, c, h, w))
    x = F.reshape(F.transpose(x, (0, 2, 1, 3, 4)), (n, 4 * c, h, w))
    return F.depth_to_space(x, 2)
