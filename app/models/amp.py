"""AMP: DeepFaceLab 2.0's morphing model (its models/Model_AMP/Model.py), the kind DeepFaceLive's
face-swap models are: one encoder, two inters (src's and dst's), one decoder with a mask head.

How it swaps: the encoder's code goes through both inters; dst is learned from its own
inter_dst code; src from a mix of its inter_src and inter_dst codes, a random `morph_factor`
share of the channels taken from inter_src for each face (redrawn every step). At merge the
first `morph value` share of the channels of the dst face's inter_src code and the rest of its
inter_dst code go through the decoder: 1.0 gives the src face, lower values a face between
dst and src (DFL's merger question "Morph factor", `merge --morph`).

As in DFL: res // 32 inter resolution with inter_dims channels, encoder five stride-2 convs
with a residual block after the first and the last, pixel-normalised code, dense to ae_dims;
decoder four upscales + residual blocks and the -d sub-pixel output (SAEHD's df-dt decoder,
app/models/saehd_nets.py); losses 5+5 DSSIM (two windows) + 10 MSE inside the blurred masks,
300 x L1 on eyes and mouth (always), 10 MSE on the mask, 0.1 MSE + tiny total variation on dst's
background; AdaBelief lr 5e-5 over the encoder and the decoder only: DFL never trains the inters
(its G_weights leave them out), so they stay the random projections they start as, and the
morph mixes two fixed views of the one learned code. Kept as DFL has it. GAN: one U-Net patch
discriminator on both sides' masked faces.

Where ours differs: DFL draws the morph channels on the GPU inside the step; here they come with
the batch (`morph_mask`, a function of the seed and the step), so resuming is exact. DFL's
"cpu" LR dropout answer is not needed (as for SAEHD). No pretraining (DFL's is commented out).
The exported graphs (DFM, ONNX) take the morph value as a second input, as DFL's AMP DFM does
(app/models/export.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import backends.layers as L
from backends.layers import names
from backends.optim import AdaBelief
from app.models.base import FaceModel, Net, dssim_kernel, eyes_mouth_loss, split
from app.models.options import Option
from app.models.saehd import (OPTIONS as SAEHD_OPTIONS, SAEHD, blur_out, soft_mask, step_settings,
                               tv_mse)
from app.models.saehd_discriminators import UNetPatchDiscriminator
from app.models.saehd_nets import HDDecoder, HDEncoder

#: the registry's declaration (app/registry.py reads it without importing this module)
MODEL = {"name": "AMP", "order": 80,
         "help": "DeepFaceLab 2.0's AMP (DeepFaceLive's kind): one decoder, a morph factor"}

_SAEHD = {o.key: o for o in SAEHD_OPTIONS}
FACE_TYPES = ("f", "wf", "head")

OPTIONS = (
    dataclasses.replace(_SAEHD["resolution"], default=224, step=32,
                        help="More resolution needs more memory and time. A multiple of 32."),
    Option("face_type", "Face type ( f/wf/head )", "wf", "choice", choices=FACE_TYPES,
           help="Full face / whole face (with the forehead) / head. The face set must be "
                "extracted as wide or wider."),
    _SAEHD["ae_dims"],
    Option("inter_dims", "Inter dimensions ( 32-2048 )", 1024, "int", lo=32, hi=2048,
           help="The channels of the two inters' codes, which the morph mixes: as many as the "
                "AutoEncoder dimensions or more. More is better, needs more memory."),
    _SAEHD["e_dims"], _SAEHD["d_dims"], _SAEHD["d_mask_dims"],
    Option("morph_factor", "Morph factor ( 0.1-0.5 )", 0.5, "float", lo=0.1, hi=0.5,
           help="The share of src's code channels taken from inter_src in training (the rest "
                "from inter_dst). Typical 0.5."),
    _SAEHD["uniform_yaw"], _SAEHD["blur_out_mask"], _SAEHD["lr_dropout"],
    _SAEHD["models_opt_on_gpu"], _SAEHD["random_warp"], _SAEHD["gan_power"],
    _SAEHD["gan_patch_size"], _SAEHD["gan_dims"], _SAEHD["ct_mode"], _SAEHD["clipgrad"],
)


class AMPEncoder(L.Module):
    """SAEHD's -tu encoder (five downscales, residual blocks, pixel norm) + dense to ae_dims."""

    def __init__(self, e_ch: int, ae_ch: int, res: int):
        self.convs = HDEncoder(e_ch, "tu")
        self.dense1 = L.Dense(e_ch * 8 * (res // 32) ** 2, ae_ch)

    def __call__(self, F, P, x):
        return self.dense1(F, P, self.convs(F, P, x))


class AMPInter(L.Module):
    """Dense from ae_dims to res/32 x res/32 x inter_dims (no upscale)."""

    def __init__(self, ae_ch: int, inter_ch: int, lowest: int):
        self.inter_ch, self.lowest = inter_ch, lowest
        self.dense2 = L.Dense(ae_ch, lowest * lowest * inter_ch)

    def __call__(self, F, P, x):
        x = self.dense2(F, P, x)
        return F.reshape(x, (x.shape[0], self.inter_ch, self.lowest, self.lowest))


def morph_slice(F, from_src, from_dst, value: float, channels: int):
    """DFL's merge-time morph: the first int(channels * value) channels from inter_src's code,
    the rest from inter_dst's."""
    k = int(channels * value)
    if k <= 0:
        return from_dst
    if k >= channels:
        return from_src
    return F.concat([from_src[:, :k], from_dst[:, k:]], 1)


class AMP(SAEHD):
    name = "AMP"
    default_batch = 8
    options_spec = OPTIONS
    eyes_mouth_masks = True
    fresh_prefixes = ("GAN.",)

    def __init__(self, options: dict):  # SAEHD's archi parsing and pretraining do not apply
        self.archi_type, self.archi_opts = "amp", "dt"
        self.pretraining = False
        self.effective = dict(options)
        FaceModel.__init__(self, options)
        if self.gan_power:
            self._check_patch(self.resolution)

    @classmethod
    def merge_defaults(cls, options: dict) -> dict:
        """DFL's AMP merger: overlay mode and the morph factor question (1.0: the src face)."""
        return {"mode": "overlay", "clip_hborder_mask_per": 0.0, "morph_value": 1.0}

    @property
    def inter_dims(self) -> int:
        return int(self.options["inter_dims"])

    @property
    def morph_channels(self) -> int:
        """The code channels the morph mixes (an exported graph takes a morph value for them)."""
        return self.inter_dims

    @property
    def morph_value(self) -> float:
        """The merge's morph factor (the predictor's options carry it; 1.0 otherwise)."""
        return float(self.options.get("morph_value", 1.0))

    @property
    def true_face_power(self) -> float:
        return 0.0

    # ---- network ----------------------------------------------------------------------------
    def build(self) -> Net:
        o, res = self.options, self.resolution
        ae, inter = int(o["ae_dims"]), self.inter_dims
        kids = dict(encoder=AMPEncoder(int(o["e_dims"]), ae, res),
                    inter_src=AMPInter(ae, inter, res // 32),
                    inter_dst=AMPInter(ae, inter, res // 32),
                    decoder=HDDecoder(inter, int(o["d_dims"]), int(o["d_mask_dims"]), "dt"))
        if self.gan_power:
            kids["GAN"] = UNetPatchDiscriminator(int(o["gan_patch_size"]), 3, int(o["gan_dims"]))
        return Net(**kids)

    def _inters(self, F, P, x) -> tuple[Any, Any]:
        code = self.net.encoder(F, P, x)
        return self.net.inter_src(F, P, code), self.net.inter_dst(F, P, code)

    def forward_train(self, F, P, ws, wd, morph_mask=None) -> dict:
        """src from its inter_src / inter_dst channels as `morph_mask` [N, C, 1, 1] picks them
        (the merge's slice at `morph_factor` without one), dst from its inter_dst code."""
        n, net = ws.shape[0], self.net
        code = net.encoder(F, P, F.concat([ws, wd], 0))
        ss = net.inter_src(F, P, split(code, n)[0])
        sd, dd = split(net.inter_dst(F, P, code), n)
        if morph_mask is None:
            src_code = morph_slice(F, ss, sd, float(self.options["morph_factor"]), self.inter_dims)
        else:
            src_code = ss * morph_mask + sd * (1.0 - morph_mask)
        face, mask = self.net.decoder(F, P, F.concat([src_code, dd], 0))
        (s, d), (sm, dm) = split(face, n), split(mask, n)
        return {"src": [s], "dst": [d], "src_mask": [sm], "dst_mask": [dm]}

    def _swap_codes(self, F, P, x) -> tuple[Any, Any]:
        a_src, a_dst = self._inters(F, P, x)
        return morph_slice(F, a_src, a_dst, self.morph_value, self.inter_dims), a_dst

    def swap(self, F, P, x):
        face, mask = self.net.decoder(F, P, self._swap_codes(F, P, x)[0])
        return face, (mask if self.learn_mask else None)

    def swap_with_dst_mask(self, F, P, x, morph_mask=None):
        """`morph_mask` [1, C, 1, 1]: the channels taken from inter_src (the exported graphs'
        morph input, app.models.export.channel_mask); else the morph value's slice."""
        if morph_mask is None:
            code, own = self._swap_codes(F, P, x)
        else:
            a_src, own = self._inters(F, P, x)
            code = a_src * morph_mask + own * (1.0 - morph_mask)
        face, mask = self.net.decoder(F, P, code)
        if not self.learn_mask:
            return face, None, None
        return face, mask, self.net.decoder(F, P, own)[1]

    # ---- training ---------------------------------------------------------------------------
    def trainable_params(self) -> list[str]:
        """DFL's G_weights: the encoder and the decoder (the inters stay as initialised)."""
        return names(self.net.encoder, self.net.decoder)

    def optimizers(self) -> list:
        """DFL: AdaBelief lr 5e-5 (the trainer's learning rate option), LR dropout 0.3 with a
        500-step cosine, clipnorm 1 with gradient clipping; the GAN's own, named by its size."""
        o = self.effective
        kw = {"lr": 5e-5, **step_settings(o)}
        opts = [AdaBelief(name="src_dst_adabelief", loss="loss", params=self.trainable_params(),
                          **kw)]
        if self.gan_power:
            opts.append(AdaBelief(name=f"GAN_{o['gan_patch_size']}_{o['gan_dims']}_adabelief",
                                  loss="GAN_loss", params=names(self.net.GAN), **kw))
        return opts

    def sample_settings(self, general: dict) -> tuple[Any, Any, dict]:
        """DFL's AMP samples: scale +-15 %, flips, random warp on or off, ct_mode, eyes and
        mouth masks always; plus each src face's morph channels."""
        from app.models.augment import AugmentOptions
        o, flip = self.effective, bool(general["random_flip"])
        warp = bool(o["random_warp"])
        src = AugmentOptions(scale=0.15, random_flip=flip, random_warp=warp,
                             scale_shift=general["src_scale_mod"] / 100.0)
        dst = AugmentOptions(scale=0.15, random_flip=flip, random_warp=warp)
        ones = int(self.inter_dims * float(o["morph_factor"]))
        return src, dst, {"eyes_mouth": True, "ct_mode": o["ct_mode"],
                          "uniform_yaw": bool(o["uniform_yaw"]),
                          "morph_channels": (self.inter_dims, ones)}

    def loss_fn(self, F, P, b) -> dict:
        o, res = self.effective, self.resolution
        out = self.forward_train(F, P, b["warped_src"], b["warped_dst"], b.get("morph_mask"))
        ts, td, ms, md = b["target_src"], b["target_dst"], b["mask_src"], b["mask_dst"]
        if o["blur_out_mask"]:
            ts, td = blur_out(F, ts, ms, res / 128), blur_out(F, td, md, res / 128)
        msb, mdb = soft_mask(F, ms, res), soft_mask(F, md, res)
        ps, pd = out["src"][0], out["dst"][0]
        src = self.amp_side_loss(F, ts, ps, ms, msb, out["src_mask"][0], b["em_src"])
        dst = self.amp_side_loss(F, td, pd, md, mdb, out["dst_mask"][0], b["em_dst"])
        anti = 1.0 - mdb   # dst's background, weakly: DFL's "dst-dst background weak loss"
        total = src + dst + 0.1 * F.mse(pd * anti, td * anti) + 1e-6 * tv_mse(F, pd * anti)
        losses = {"src_loss": src, "dst_loss": dst, "loss": total}
        if self.gan_power:
            self.amp_gan(F, P, (ts * msb, ps * msb), (td * mdb, pd * mdb), losses)
            anti_s = 1.0 - msb
            losses["loss"] = losses["loss"] + 1e-6 * tv_mse(F, ps) \
                + 0.02 * F.mse(ps * anti_s, ts * anti_s)
        return losses

    def amp_side_loss(self, F, target, pred, mask, mask_blur, pred_mask, em) -> Any:
        """One side's DFL AMP loss: 5 + 5 DSSIM (windows res/11.6 and res/23.2) and 10 MSE
        inside the blurred mask, 300 x L1 on the eyes and mouth, 10 MSE on the mask."""
        res = self.resolution
        t, p = target * mask_blur, pred * mask_blur
        loss = 5.0 * F.dssim(t, p, kernel_size=dssim_kernel(res, res)) \
            + 5.0 * F.dssim(t, p, kernel_size=max(3, int(res / 23.2))) + 10.0 * F.mse(t, p)
        return loss + eyes_mouth_loss(F, target, pred, em) + 10.0 * F.mse(mask, pred_mask)

    def amp_gan(self, F, P, src: tuple, dst: tuple, losses: dict) -> None:
        """DFL's AMP GAN: the discriminator calls both sides' masked targets real and
        predictions fake (centre and per-pixel logits, averaged over the eight terms); the
        autoencoder wants its predictions called real, times gan_power."""
        d = self.net.GAN
        real = [d(F, P, src[0]), d(F, P, dst[0])]
        fake = [d(F, P, src[1]), d(F, P, dst[1])]
        terms = [F.bce_with_logits(x, 1.0) for pair in real for x in pair] + \
            [F.bce_with_logits(x, 0.0) for pair in fake for x in pair]
        losses["GAN_loss"] = sum(terms[1:], terms[0]) * (1.0 / 8)
        g = [F.bce_with_logits(x, 1.0) for pair in fake for x in pair]
        losses["loss"] = losses["loss"] + self.gan_power * sum(g[1:], g[0])
