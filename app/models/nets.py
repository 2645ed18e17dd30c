"""The building blocks of DeepFaceLab 1.0's models, on the engine layer API (backends.layers).

Written once; every engine (torch, OpenCL) runs them. Shapes are NCHW. The flows follow DFL's
SAE code (DFEncFlow, LIAEEncFlow, LIAEInterFlow, DFDecFlow) and the older H64/H128/DF/LIAEF128
models, which are the same flows with fixed sizes.
"""

from __future__ import annotations

import backends.layers as L
from backends.layers import ParamSpec


class SepDownscale(L.Module):
    """Separable stride-2 conv (depthwise k x k, then pointwise 1x1) + leaky relu 0.1: DFL's
    `downscale_sep` of SAE's lightweight encoder (Keras SeparableConv2D, bias after pointwise)."""

    def __init__(self, cin: int, cout: int, k: int = 5):
        self.cin, self.cout, self.k = cin, cout, k

    def own_params(self) -> dict[str, ParamSpec]:
        return {"depthwise": ParamSpec((self.cin, 1, self.k, self.k)),
                "pointwise": ParamSpec((self.cout, self.cin, 1, 1)),
                "bias": ParamSpec((self.cout,), "zeros")}

    def __call__(self, F, P, x):
        x = F.conv2d(x, self.p(P, "depthwise"), None, stride=2, padding=self.k // 2, groups=self.cin)
        return F.leaky_relu(F.conv2d(x, self.p(P, "pointwise"), self.p(P, "bias")), 0.1)


class ConvEncoder(L.Module):
    """Four downscales (dims, 2x, 4x, 8x), flattened: 1/16 of the resolution.

    `light`: DFL's lighter encoder, the downscales `separable` (0-based) made separable: LIAE's
    2nd and 4th (the default), DF's 2nd to 4th (DFL 1.0's LIAEEncFlow / DFEncFlow).
    """

    def __init__(self, cin: int, dims: int, light: bool = False,
                 separable: tuple[int, ...] = (1, 3)):
        chans = [cin, dims, dims * 2, dims * 4, dims * 8]
        self.downs = [SepDownscale(chans[i], chans[i + 1]) if light and i in separable
                      else L.Downscale(chans[i], chans[i + 1]) for i in range(4)]
        self.out_ch = chans[-1]

    def __call__(self, F, P, x):
        for down in self.downs:
            x = down(F, P, x)
        return F.flatten(x)


class Bottleneck(L.Module):
    """Dense to `ae_dims`, dense back to `lowest x lowest x ch`, upscale to `up_ch` channels
    (DFL's DF encoder tail and LIAE's inter_B / inter_AB)."""

    def __init__(self, fin: int, ae_dims: int, lowest: int, ch: int, up_ch: int):
        self.lowest, self.ch = lowest, ch
        self.dense1 = L.Dense(fin, ae_dims)
        self.dense2 = L.Dense(ae_dims, lowest * lowest * ch)
        self.up = L.Upscale(ch, up_ch)

    def __call__(self, F, P, x):
        x = self.dense2(F, P, self.dense1(F, P, x))
        x = F.reshape(x, (x.shape[0], self.ch, self.lowest, self.lowest))
        return self.up(F, P, x)


class Encoder(L.Module):
    """Conv encoder + bottleneck: DFL's DF-style encoder (output at 1/8 of the resolution)."""

    def __init__(self, res: int, dims: int, ae_dims: int, lowest_ch: int, up_ch: int,
                 light: bool = False):
        lowest = res // 16
        self.conv = ConvEncoder(3, dims, light, separable=(1, 2, 3))
        self.bottleneck = Bottleneck(self.conv.out_ch * lowest * lowest, ae_dims, lowest,
                                     lowest_ch, up_ch)

    def __call__(self, F, P, x):
        return self.bottleneck(F, P, self.conv(F, P, x))


class Decoder(L.Module):
    """Three upscales (dims[0..2]) to the full resolution, each optionally followed by two
    residual blocks (`block`: DFL's later ResBlock, or VGResBlock for SAE vg), then a 5x5 conv +
    sigmoid to `out_ch` channels. With `multiscale` 2 or 3 it
    also outputs the 1/2 and 1/4 sizes (DFL's multiscale decoder). Returns outputs low to high
    resolution."""

    def __init__(self, cin: int, dims: list[int], out_ch: int = 3, res_blocks: int = 0,
                 multiscale: int = 1, block: type = L.ResBlock):
        chans = [cin] + list(dims)
        self.ups = [L.Upscale(chans[i], chans[i + 1]) for i in range(3)]
        self.res_blocks = res_blocks
        self.res = [block(c) for c in dims for _ in range(res_blocks)]
        self.multiscale = multiscale
        self.outs = [L.Conv2D(c, out_ch, 5) for c in dims[3 - multiscale:]]

    def __call__(self, F, P, x) -> list:
        outs = []
        for i, up in enumerate(self.ups):
            x = up(F, P, x)
            for block in self.res[i * self.res_blocks:(i + 1) * self.res_blocks]:
                x = block(F, P, x)
            j = i - (3 - self.multiscale)
            if j >= 0:
                outs.append(F.sigmoid(self.outs[j](F, P, x)))
        return outs


class VGResBlock(L.Module):
    """The residual block of DeepFaceLab 1.0's SAE 'vg' architecture (its `ResidualBlock`):
    lrelu 0.2, conv, lrelu 0.2, conv, times a learned scalar gamma (0.1 at the start, Keras
    `Scale`), + input, lrelu 0.2. Convs start at normal(0, 0.02), as there. gamma is stored as
    an offset from 0.1 (init zeros), so Adam moves it exactly as it moved DFL's gamma."""

    def __init__(self, ch: int, k: int = 3):
        self.conv1 = L.Conv2D(ch, ch, k, init="normal:0.02")
        self.conv2 = L.Conv2D(ch, ch, k, init="normal:0.02")

    def own_params(self) -> dict[str, ParamSpec]:
        return {"gamma": ParamSpec((1,), "zeros")}

    def __call__(self, F, P, x):
        y = self.conv1(F, P, F.leaky_relu(x, 0.2))
        y = self.conv2(F, P, F.leaky_relu(y, 0.2))
        return F.leaky_relu(y * (self.p(P, "gamma") + 0.1) + x, 0.2)


class VGEncoder(L.Module):
    """DeepFaceLab 1.0's SAE `VGEncFlow`: a stride-2 5x5 conv to `dims` channels (rounded down
    to a multiple of 4), 16 residual blocks (8 with the lighter encoder) added back to the conv
    output, two downscale + depth_to_space pairs at 1/2 resolution, then downscales to 1, 2, 4
    and 8 x dims (separable for 2x and 8x when light) down to 1/32, and DF's dense bottleneck to
    `res // 16` and an upscale (output at 1/8 of the resolution, `ae_dims` channels)."""

    def __init__(self, res: int, dims: int, ae_dims: int, light: bool = False):
        d = dims - dims % 4
        self.conv_in = L.Conv2D(3, d, 5, stride=2)
        self.res = [VGResBlock(d) for _ in range(8 if light else 16)]
        self.mix = [L.Downscale(d, d), L.Downscale(d // 4, d)]
        down = [(d // 4, d), (d, 2 * d), (2 * d, 4 * d), (4 * d, 8 * d)]
        self.downs = [SepDownscale(a, b) if light and i in (1, 3) else L.Downscale(a, b)
                      for i, (a, b) in enumerate(down)]
        flat = 8 * d * (-(-res // 32)) ** 2      # stride-2 "same" convs round up
        self.bottleneck = Bottleneck(flat, ae_dims, res // 16, ae_dims, ae_dims)

    def __call__(self, F, P, x):
        x = first = self.conv_in(F, P, x)
        for block in self.res:
            x = block(F, P, x)
        x = x + first
        for down in self.mix:
            x = F.depth_to_space(down(F, P, x), 2)
        for down in self.downs:
            x = down(F, P, x)
        return self.bottleneck(F, P, F.flatten(x))
