"""SAEHD's two discriminators (DeepFaceLab 2.0's core/leras/models): the code discriminator of
'true face' and the U-Net patch discriminator of GAN training.

Where ours differs: DFL's U-Net upsamples with transposed convolutions; here a stride-2
transposed 3x3 conv is written as zero insertion + a 3x3 conv (the same family of functions,
weights laid out differently), since the engines share ordinary convolutions only.
"""

from __future__ import annotations

import backends.layers as L


class CodeDiscriminator(L.Module):
    """1 + code_res // 8 stride-2 convs (4x4 first, then 3x3; 256, 512, ... channels, leaky
    relu 0.1) and a 1x1 conv to one logit per position: is this code src's or dst's?"""

    def __init__(self, in_ch: int, code_res: int, ch: int = 256):
        chans = [in_ch] + [ch * min(2 ** i, 8) for i in range(1 + code_res // 8)]
        self.convs = [L.Conv2D(chans[i], chans[i + 1], 4 if i == 0 else 3, stride=2, padding=1)
                      for i in range(len(chans) - 1)]
        self.out_conv = L.Conv2D(chans[-1], 1, 1, padding=0)

    def __call__(self, F, P, x):
        for conv in self.convs:
            x = F.leaky_relu(conv(F, P, x), 0.1)
        return self.out_conv(F, P, x)


def receptive_field(layers: list[tuple[int, int]]) -> int:
    """Receptive field of a stack of (kernel, stride) convs."""
    rf, total_stride = 0, 1
    for i, (k, s) in enumerate(layers):
        rf = k if i == 0 else rf + (k - 1) * total_stride
        total_stride *= s
    return rf


def patch_layers(patch_size: int, max_layers: int = 9) -> list[tuple[int, int]]:
    """DFL's find_archi: 3x3 convs (the first stride 2, the others 1 or 2) whose receptive field
    is nearest `patch_size`; among equal fields the fewest layers, then the most striding."""
    best: dict[int, tuple[int, int, list[tuple[int, int]]]] = {}
    for count in range(1, max_layers + 1):
        for bits in range((1 << (count - 1)) - 1, -1, -1):
            layers = [(3, 2)] + [(3, 2 if bits & (1 << i) else 1) for i in range(count - 1)]
            strides = sum(s for _, s in layers)
            rf = receptive_field(layers)
            old = best.get(rf)
            if old is None or count < old[0] or (count == old[0] and strides > old[1]):
                best[rf] = (count, strides, layers)
    nearest = min(sorted(best), key=lambda rf: abs(rf - patch_size))
    return best[nearest][2]


class UpConv(L.Module):
    """A transposed 3x3 conv of stride 1 or 2 (see the module docstring)."""

    def __init__(self, cin: int, cout: int, stride: int):
        self.stride = stride
        self.conv = L.Conv2D(cin, cout, 3)

    def __call__(self, F, P, x):
        if self.stride == 2:
            n, c, h, w = x.shape
            x = F.reshape(x, (n, c, h, 1, w, 1))
            x = F.concat([x, x * 0.0], 5)
            x = F.reshape(F.concat([x, x * 0.0], 3), (n, c, 2 * h, 2 * w))
        return self.conv(F, P, x)


class UNetPatchDiscriminator(L.Module):
    """DFL's U-Net discriminator ("A U-Net Based Discriminator for GANs"): an encoder of
    `patch_layers(patch_size)` with base_ch, 2 base_ch, ... (at most 512) channels, a 1x1 centre
    logit map, a decoder back to full size with skip connections and a 1x1 per-pixel logit map.
    Returns (centre logits, pixel logits)."""

    def __init__(self, patch_size: int, in_ch: int = 3, base_ch: int = 16):
        layers = patch_layers(patch_size)
        ch = [min(base_ch * 2 ** i, 512) for i in range(len(layers) + 1)]   # ch[i]: level i - 1
        self.in_conv = L.Conv2D(in_ch, ch[0], 1, padding=0)
        self.convs = [L.Conv2D(ch[i], ch[i + 1], k, stride=s) for i, (k, s) in enumerate(layers)]
        last = len(layers) - 1
        self.upconvs = [UpConv(ch[i + 1] * (1 if i == last else 2), ch[i], s)
                        for i, (_, s) in reversed(list(enumerate(layers)))]
        self.out_conv = L.Conv2D(ch[0] * 2, 1, 1, padding=0)
        self.center_out = L.Conv2D(ch[-1], 1, 1, padding=0)
        self.center_conv = L.Conv2D(ch[-1], ch[-1], 1, padding=0)

    def __call__(self, F, P, x):
        x = F.leaky_relu(self.in_conv(F, P, x), 0.2)
        skips = []
        for conv in self.convs:
            skips.insert(0, x)
            x = F.leaky_relu(conv(F, P, x), 0.2)
        center = self.center_out(F, P, x)
        x = F.leaky_relu(self.center_conv(F, P, x), 0.2)
        for up, skip in zip(self.upconvs, skips):
            x = F.concat([skip, F.leaky_relu(up(F, P, x), 0.2)], 1)
        return center, self.out_conv(F, P, x)
