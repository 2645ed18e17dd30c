"""SAEHD: DeepFaceLab 2.0's high-definition model (its models/Model_SAEHD/Model.py), beside 1.0's
five. Networks in app/models/saehd_nets.py; losses below; sample options in `sample_settings`.

What each option does, as in DFL 2.0, and where ours differs (said at the option or the code):
- resolution 64-640 (multiple of 16; of 32 with -d), face type h / mf / f / wf / head;
- archi df or liae with -u (pixel-normalised code: more likeness), -d (the decoder works at
  half the resolution and fills 2x2 sub-pixels: double resolution at about the same cost), -t
  (a deeper encoder and decoder);
- losses: masked (blurred-mask) 10 DSSIM + 10 MSE per side (two DSSIM windows from 256 px),
  300 x L1 on the eyes and mouth with eyes_mouth_prio, 10 MSE on the learned mask, face and
  background style; one optimizer (AdaBelief or RMSprop, LR dropout, gradient clipping).
"""

from __future__ import annotations

from typing import Any

from backends.layers import names
from backends.optim import AdaBelief, RMSprop
from app.errors import UserError
from app.models.base import FaceModel, Net, dssim_kernel, eyes_mouth_loss, split
from app.models.options import Option
from app.models.saehd_discriminators import CodeDiscriminator, UNetPatchDiscriminator
from app.models.saehd_nets import HDDecoder, HDEncoder, HDInter

#: the registry's declaration (app/registry.py reads it without importing this module)
MODEL = {"name": "SAEHD", "order": 60,
         "help": "DeepFaceLab 2.0's SAEHD: up to 640 px, df/liae -u -d -t, eyes/mouth priority"}

_VARIANTS = ("", "-u", "-d", "-t", "-ud", "-ut", "-dt", "-udt")
ARCHIS = tuple(a + v for a in ("df", "liae") for v in _VARIANTS)
#: DFL 2.0's face type answers -> our face types (app/faceset/face_types.py)
FACE_TYPE_ANSWERS = {"h": "half", "mf": "midfull", "f": "full", "wf": "whole", "head": "head"}
CT_MODES = ("none", "rct", "lct", "mkl", "idt", "sot")


def _mask_dims(o: dict) -> int:
    """DFL: decoder mask dims default to a third of the decoder dims, rounded up to even."""
    d = int(o.get("d_dims", 64)) // 3
    return max(16, d + d % 2)


OPTIONS = (
    Option("resolution", "Resolution ( 64-640 )", 128, "int", lo=64, hi=640, step=16,
           help="More resolution needs more memory and time. A multiple of 16, and of 32 for "
                "the -d architectures."),
    Option("face_type", "Face type ( h/mf/f/wf/head )", "f", "choice",
           choices=tuple(FACE_TYPE_ANSWERS),
           help="Half / mid face / full face / whole face / head. Half has the best resolution "
                "but covers less of the cheeks; mid is a little wider; whole adds the forehead; "
                "head covers the whole head. The face set must be extracted as wide or wider."),
    Option("archi", "AE architecture ( df/liae, -u -d -t )", "liae-ud", "choice", choices=ARCHIS,
           help="df keeps the face more like src; liae fixes overly different face shapes. -u: "
                "more likeness; -d: the decoder doubles the resolution at about the same cost; "
                "-t: deeper encoder and decoder, better likeness. E.g. df, liae-ud, df-udt."),
    Option("ae_dims", "AutoEncoder dimensions ( 32-1024 )", 256, "int", lo=32, hi=1024,
           help="All face information is packed into these dims; too few and e.g. closed eyes "
                "are not recognised. More dims are better but need more memory."),
    Option("e_dims", "Encoder dimensions ( 16-256 )", 64, "int", lo=16, hi=256, step=2,
           help="More dims recognise more facial features: sharper, more memory. Even numbers."),
    Option("d_dims", "Decoder dimensions ( 16-256 )", 64, "int", lo=16, hi=256, step=2,
           help="More dims give more detail: sharper, more memory. Even numbers."),
    Option("d_mask_dims", "Decoder mask dimensions ( 16-256 )", _mask_dims, "int", lo=16, hi=256,
           step=2, help="Typically a third of the decoder dims; more if you cut obstacles out "
                        "of the dst masks by hand. Even numbers."),
    Option("masked_training", "Masked training", True, "bool", overridable=True,
           help="The image loss only covers the face mask (blurred at the edge), so the "
                "network spends itself on the face. DFL asks this for wf and head only (for "
                "narrower types it is always on); here it can be turned off for any type."),
    Option("eyes_mouth_prio", "Eyes and mouth priority", False, "bool", overridable=True,
           help="Weighs the eyes and the inner mouth 30 times more: fixes alien eyes and wrong "
                "gaze, sharper teeth."),
    Option("uniform_yaw", "Uniform yaw distribution of samples", False, "bool", overridable=True,
           help="Draws every head turn equally often, however few side faces the set has: "
                "fixes blurry side faces."),
    Option("blur_out_mask", "Blur out mask", False, "bool", overridable=True,
           help="Blurs the background next to the face mask in the training targets, so the "
                "background near the swapped face is smooth and less noticeable."),
    Option("models_opt_on_gpu", "Place models and optimizer on GPU", True, "bool",
           overridable=True,
           help="Off: the optimizer state lives in system RAM (moved to the device for each "
                "update), freeing device memory for bigger dims. No effect on the CPU."),
    Option("adabelief", "Use AdaBelief optimizer", True, "bool", overridable=True,
           help="AdaBelief: better accuracy and generalisation, a bit more memory. Off: "
                "RMSprop, as DFL. Changing it starts the optimizer state afresh."),
    Option("lr_dropout", "Use learning rate dropout", False, "bool", overridable=True,
           help="When the face is trained enough: each step moves only 30 % of the weights (and "
                "the step size follows a 500-step cosine), for extra sharpness and less subpixel "
                "shake. Enable it before turning random warp off and before GAN. (DFL's 'cpu' "
                "answer is not needed: the masks are drawn inside the step.)"),
    Option("random_warp", "Enable random warp of samples", True, "bool", overridable=True,
           help="Random warp makes the network generalise expressions of both faces; when the "
                "face is trained enough, turn it off for extra sharpness (liae then also "
                "freezes inter_AB, as DFL does)."),
    Option("random_hsv_power", "Random hue/saturation/light intensity ( 0.0-0.3 )", 0.0, "float",
           lo=0.0, hi=0.3, overridable=True,
           help="Shifts the hue, saturation and light of src's network input at random: "
                "steadier colours in the swap; src needs varied faces. Typical value 0.05."),
    Option("gan_power", "GAN power ( 0.0-5.0 )", 0.0, "float", lo=0.0, hi=5.0, overridable=True,
           help="A discriminator forces the network to learn small details of the face. Only "
                "when the face is trained enough with LR dropout on and random warp off; do not "
                "turn it off again. Higher: more artefacts. Typical 0.1. Switched on later, the "
                "discriminator starts fresh (as in DFL)."),
    Option("gan_patch_size", "GAN patch size ( 3-640 )", lambda o: int(o["resolution"]) // 8,
           "int", lo=3, hi=640, overridable=True,
           help="Used with GAN power > 0: bigger patches, higher quality, more memory; sharper "
                "edges even at the lowest. Typical resolution / 8. A change starts the "
                "discriminator afresh."),
    Option("gan_dims", "GAN dimensions ( 4-512 )", 16, "int", lo=4, hi=512, overridable=True,
           help="Used with GAN power > 0: the discriminator's width; more needs more memory. "
                "Typical 16. A change starts the discriminator afresh."),
    Option("true_face_power", "'True face' power ( 0.0-1.0 )", 0.0, "float", lo=0.0, hi=1.0,
           overridable=True, when=lambda o: parse_archi(str(o.get("archi", "")))[0] == "df",
           why_not="'true face' discriminates df's shared code (DFL offers it for df only); "
                   "choose a df archi or leave it out",
           help="Experimental: a discriminator on the code makes the swapped face more like "
                "src. Higher: stronger. Typical 0.01."),
    Option("face_style_power", "Face style power ( 0.0-100.0 )", 0.0, "float", lo=0, hi=100,
           overridable=True,
           help="The swapped face learns dst's colours inside the mask. Only after ~10k "
                "iterations; start at 0.001. Raises the chance of model collapse."),
    Option("bg_style_power", "Background style power ( 0.0-100.0 )", 0.0, "float", lo=0, hi=100,
           overridable=True,
           help="The swap learns dst's background outside the mask: more like dst. Typical 2.0. "
                "Raises the chance of model collapse."),
    Option("ct_mode", "Color transfer for src faceset ( none/rct/lct/mkl/idt/sot )", "none",
           "choice", choices=CT_MODES, overridable=True,
           help="Recolours each src training face after a random dst face, so src's colours "
                "come near dst's. Try them all to find the best."),
    Option("clipgrad", "Enable gradient clipping", False, "bool", overridable=True,
           help="Clips the gradient norm at 1: less chance of model collapse, a little slower."),
    Option("pretrain", "Enable pretraining mode", False, "bool", overridable=True,
           help="Pretrain on many faces of other people (train --pretrain-dir DIR, both sides "
                "from it); afterwards the model learns a real pair much faster. Forces random "
                "warp off, flips on, GAN, true face, styles, HSV and LR dropout off, uniform yaw "
                "on. Turning it off restarts the iteration count and the inter layer(s)."),
)

#: what pretraining forces (DFL 2.0's on_initialize for pretrain)
PRETRAIN_FORCES = {"random_warp": False, "gan_power": 0.0, "true_face_power": 0.0,
                   "face_style_power": 0.0, "bg_style_power": 0.0, "random_hsv_power": 0.0,
                   "lr_dropout": False, "uniform_yaw": True}


def parse_archi(archi: str) -> tuple[str, str]:
    """'liae-ud' -> ('liae', 'ud')."""
    kind, _, opts = archi.partition("-")
    return kind, opts


class SAEHD(FaceModel):
    name = "SAEHD"
    default_batch = 8
    options_spec = OPTIONS
    eyes_mouth_masks = True
    fresh_prefixes = ("D_src.", "code_discriminator.")

    def __init__(self, options: dict):
        self.archi_type, self.archi_opts = parse_archi(str(options.get("archi", "liae-ud")))
        self.pretraining = bool(options.get("pretrain", False))
        #: the options training follows: the saved ones, with pretraining's forced values
        self.effective = {**options, **(PRETRAIN_FORCES if self.pretraining else {})}
        self.pretrain_reset_prefixes = ("inter.",) if self.archi_type == "df" else \
            ("inter_AB.", "inter_B.")
        res = int(options.get("resolution", 128))
        if "d" in self.archi_opts and res % 32:
            raise UserError(f"option resolution = {res} does not fit archi {options['archi']}: "
                            f"-d needs a multiple of 32; choose resolution {res - res % 32} or "
                            f"{res - res % 32 + 32}, or an archi without -d")
        super().__init__(options)
        if self.gan_power:
            self._check_patch(res)

    @classmethod
    def merge_defaults(cls, options: dict) -> dict:
        """DFL 2.0's SAEHD merger starts in overlay mode (MergerConfigMasked default_mode)."""
        return {"mode": "overlay", "clip_hborder_mask_per": 0.0}

    @property
    def gan_power(self) -> float:
        return float(self.effective.get("gan_power", 0.0))

    @property
    def true_face_power(self) -> float:
        return float(self.effective.get("true_face_power", 0.0) or 0.0)

    def _check_patch(self, res: int) -> None:
        """The U-Net discriminator halves the size at each stride-2 layer and doubles it back:
        the resolution must divide evenly (DFL fails deep inside TF otherwise)."""
        from app.models.saehd_discriminators import patch_layers
        patch = int(self.options["gan_patch_size"])
        down = 2 ** sum(1 for _, st in patch_layers(patch) if st == 2)
        if res % down:
            raise UserError(f"option gan_patch_size = {patch} does not fit resolution {res}: its "
                            f"discriminator halves the face {down.bit_length() - 1} times; choose "
                            "a smaller gan_patch_size (e.g. resolution / 8)")

    # ---- sizes ------------------------------------------------------------------------------
    @property
    def resolution(self) -> int:
        return int(self.options["resolution"])

    @property
    def face_type(self) -> str:  # type: ignore[override]
        return FACE_TYPE_ANSWERS[self.options["face_type"]]

    @property
    def learn_mask(self) -> bool:  # type: ignore[override]
        """SAEHD's decoders always learn the mask; a predictor may switch its output off."""
        return bool(self.options.get("learn_mask", True))

    # ---- network ----------------------------------------------------------------------------
    def build(self) -> Net:
        o, opts, res = self.options, self.archi_opts, self.resolution
        e, ae = int(o["e_dims"]), int(o["ae_dims"])
        d, dm = int(o["d_dims"]), int(o["d_mask_dims"])
        enc = HDEncoder(e, opts)
        side = -(-res // (32 if "t" in opts else 16))      # stride-2 'same' convs round up
        enc_out = enc.out_ch * side * side
        if self.archi_type == "df":
            inter = HDInter(enc_out, ae, ae, res, opts)
            kids = dict(encoder=enc, inter=inter, decoder_src=HDDecoder(ae, d, dm, opts),
                        decoder_dst=HDDecoder(ae, d, dm, opts))
            if self.true_face_power:
                code_res = inter.lowest if "t" in opts else inter.lowest * 2
                kids["code_discriminator"] = CodeDiscriminator(ae, code_res)
        else:
            kids = dict(encoder=enc, inter_AB=HDInter(enc_out, ae, ae * 2, res, opts),
                        inter_B=HDInter(enc_out, ae, ae * 2, res, opts),
                        decoder=HDDecoder(ae * 4, d, dm, opts))
        if self.gan_power:
            kids["D_src"] = UNetPatchDiscriminator(int(o["gan_patch_size"]), 3, int(o["gan_dims"]))
        return Net(**kids)

    def _codes(self, F, P, ws, wd) -> tuple[Any, Any, Any]:
        """(src code, dst code, dst code for the swap) through the encoder and inter(s)."""
        net, n = self.net, ws.shape[0]
        x = net.encoder(F, P, F.concat([ws, wd], 0))
        if self.archi_type == "df":
            cs, cd = split(net.inter(F, P, x), n)
            return cs, cd, cd
        ab_s, ab_d = split(net.inter_AB(F, P, x), n)
        b_d = net.inter_B(F, P, split(x, n)[1])
        return F.concat([ab_s, ab_s], 1), F.concat([b_d, ab_d], 1), F.concat([ab_d, ab_d], 1)

    def _dec(self, side: str):
        return self.net.decoder if self.archi_type == "liae" else getattr(self.net, f"decoder_{side}")

    def forward_train(self, F, P, ws, wd, need_swap: bool = False) -> dict:
        cs, cd, csw = self._codes(F, P, ws, wd)
        (s, sm), (d, dm) = self._dec("src")(F, P, cs), self._dec("dst")(F, P, cd)
        out: dict[str, Any] = {"src": [s], "dst": [d], "src_mask": [sm], "dst_mask": [dm],
                               "src_code": cs, "dst_code": cd, "swap_code": csw}
        if need_swap:
            out["swap"], out["swap_mask"] = self._dec("src")(F, P, csw)
        return out

    def _swap_code(self, F, P, x):
        code = self.net.encoder(F, P, x)
        if self.archi_type == "df":
            c = self.net.inter(F, P, code)
            return c, c
        ab, b = self.net.inter_AB(F, P, code), self.net.inter_B(F, P, code)
        return F.concat([ab, ab], 1), F.concat([b, ab], 1)

    def swap(self, F, P, x):
        face, mask = self._dec("src")(F, P, self._swap_code(F, P, x)[0])
        return face, (mask if self.learn_mask else None)

    def swap_with_dst_mask(self, F, P, x):
        swap_code, own_code = self._swap_code(F, P, x)
        face, mask = self._dec("src")(F, P, swap_code)
        if not self.learn_mask:
            return face, None, None
        return face, mask, self._dec("dst")(F, P, own_code)[1]

    def reconstruct(self, F, P, src, dst):
        out = self.forward_train(F, P, src, dst)
        return out["src"][-1], out["dst"][-1]

    # ---- training ---------------------------------------------------------------------------
    def optimizers(self) -> list:
        """DFL 2.0: AdaBelief or RMSprop at lr 5e-5 (the trainer's learning rate option),
        LR dropout 0.3 with a 500-step cosine, clipnorm 1 with gradient clipping. The state is
        kept under the optimizer's kind, so switching kinds starts it afresh as in DFL."""
        o = self.effective
        kw = step_settings(o)
        def make(name: str, loss: str, params: list[str]):
            args = {**kw, "loss": loss, "params": params}
            if o["adabelief"]:
                return AdaBelief(name=f"{name}_adabelief", lr=5e-5, **args)
            return RMSprop(name=f"{name}_rmsprop", lr=5e-5, eps=1e-6, **args)

        opts = [make("src_dst", "loss", self.trainable_params())]
        if self.true_face_power:
            opts.append(make("D_code", "D_code_loss", names(self.net.code_discriminator)))
        if self.gan_power:   # named by its size: another patch size or dims starts afresh
            opts.append(make(f"GAN_{o['gan_patch_size']}_{o['gan_dims']}", "D_src_loss",
                             names(self.net.D_src)))
        return opts

    def trainable_params(self) -> list[str]:
        """Every autoencoder weight; liae without random warp leaves inter_AB as it is (DFL)."""
        n = self.net
        if self.archi_type == "df":
            return names(n.encoder, n.inter, n.decoder_src, n.decoder_dst)
        if self.effective["random_warp"]:
            return names(n.encoder, n.inter_AB, n.inter_B, n.decoder)
        return names(n.encoder, n.inter_B, n.decoder)

    def optimizer_offload(self) -> int:
        """models_opt_on_gpu off: optimizer state in host RAM (engine offload mode 2)."""
        return 1 if self.options["models_opt_on_gpu"] else 2

    def sample_settings(self, general: dict) -> tuple[Any, Any, dict]:
        """DFL 2.0's SAEHD samples: scale +-15 %, random warp on or off, HSV shift on src's
        input, src recoloured after dst (ct_mode), eyes-and-mouth masks, uniform yaw."""
        from app.models.augment import AugmentOptions
        o, flip = self.effective, bool(general["random_flip"]) or self.pretraining
        warp = bool(o["random_warp"])
        src = AugmentOptions(scale=0.15, random_flip=flip, random_warp=warp,
                             scale_shift=general["src_scale_mod"] / 100.0,
                             hsv_power=float(o["random_hsv_power"]))
        dst = AugmentOptions(scale=0.15, random_flip=flip, random_warp=warp)
        return src, dst, {"eyes_mouth": bool(o["eyes_mouth_prio"]), "ct_mode": o["ct_mode"],
                          "uniform_yaw": bool(o["uniform_yaw"])}

    def loss_fn(self, F, P, b) -> dict:
        o, res = self.effective, self.resolution
        fsp, bsp = float(o["face_style_power"]) / 100, float(o["bg_style_power"]) / 100
        out = self.forward_train(F, P, b["warped_src"], b["warped_dst"], need_swap=bool(bsp))
        ts, td, ms, md = b["target_src"], b["target_dst"], b["mask_src"], b["mask_dst"]
        if o["blur_out_mask"]:
            ts, td = blur_out(F, ts, ms, res / 128), blur_out(F, td, md, res / 128)
        msb, mdb = soft_mask(F, ms, res), soft_mask(F, md, res)
        src = self.side_loss(F, ts, out["src"][0], ms, msb, out["src_mask"][0], b.get("em_src"))
        dst = self.side_loss(F, td, out["dst"][0], md, mdb, out["dst_mask"][0], b.get("em_dst"))
        if fsp:
            src = src + self.face_style(F, P, out, fsp)
        if bsp:
            anti = 1.0 - mdb
            psd, tgt = out["swap"] * anti, td * anti
            src = src + (10 * bsp) * F.dssim(psd, tgt, kernel_size=dssim_kernel(res, res)) \
                + (10 * bsp) * F.mse(psd, tgt)
        losses = {"src_loss": src, "dst_loss": dst, "loss": src + dst}
        if self.true_face_power:
            self.true_face(F, P, out, losses)
        if self.gan_power:
            t, p = (ts * msb, out["src"][0] * msb) if o["masked_training"] else (ts, out["src"][0])
            self.gan(F, P, t, p, losses)
            if o["masked_training"]:
                anti = 1.0 - msb
                losses["loss"] = losses["loss"] + 1e-6 * tv_mse(F, out["src"][0]) \
                    + 0.02 * F.mse(out["src"][0] * anti, ts * anti)
        return losses

    def true_face(self, F, P, out: dict, losses: dict) -> None:
        """DFL's 'true face': the code discriminator learns to tell dst's code (1) from src's
        (0); the autoencoder learns to make src's code look like dst's (more src-like swaps)."""
        d = self.net.code_discriminator
        ds, dd = d(F, P, out["src_code"]), d(F, P, out["dst_code"])
        losses["loss"] = losses["loss"] + self.true_face_power * F.bce_with_logits(ds, 1.0)
        losses["D_code_loss"] = (F.bce_with_logits(dd, 1.0) + F.bce_with_logits(ds, 0.0)) * 0.5

    def gan(self, F, P, target, pred, losses: dict) -> None:
        """DFL's GAN on src's reconstruction: the U-Net discriminator's centre and per-pixel
        logits call the target real and the prediction fake; the autoencoder the reverse."""
        (tc, tx), (pc, px) = self.net.D_src(F, P, target), self.net.D_src(F, P, pred)
        losses["D_src_loss"] = (F.bce_with_logits(tc, 1.0) + F.bce_with_logits(pc, 0.0)) * 0.5 \
            + (F.bce_with_logits(tx, 1.0) + F.bce_with_logits(px, 0.0)) * 0.5
        losses["loss"] = losses["loss"] + self.gan_power * (
            F.bce_with_logits(pc, 1.0) + F.bce_with_logits(px, 1.0))

    def side_loss(self, F, target, pred, mask, mask_blur, pred_mask, em) -> Any:
        """One side's DFL 2.0 loss: (masked) DSSIM + 10 MSE, eyes/mouth L1, mask MSE."""
        res = self.resolution
        t, p = (target * mask_blur, pred * mask_blur) if self.effective["masked_training"] \
            else (target, pred)
        if res < 256:
            loss = 10.0 * F.dssim(t, p, kernel_size=dssim_kernel(res, res))
        else:
            loss = 5.0 * F.dssim(t, p, kernel_size=dssim_kernel(res, res)) + \
                5.0 * F.dssim(t, p, kernel_size=max(3, int(res / 23.2)))
        loss = loss + 10.0 * F.mse(t, p)
        if self.effective["eyes_mouth_prio"]:
            loss = loss + eyes_mouth_loss(F, target, pred, em)
        return loss + 10.0 * F.mse(mask, pred_mask)

    def face_style(self, F, P, out: dict, power: float) -> Any:
        """DFL: the swap, decoded from dst's code without letting the gradient into the
        encoder, takes the colour statistics of dst's own reconstruction inside the masks."""
        face, mask = self._dec("src")(F, P, F.stop_gradient(out["swap_code"]))
        style = F.stop_gradient(out["dst"][0] * out["dst_mask"][0])
        return F.style_loss(face * F.stop_gradient(mask), style,
                            blur_radius=self.resolution // 8, weight=10000 * power)


def step_settings(o: dict) -> dict:
    """DFL 2.0's optimizer settings from the options (SAEHD's and AMP's): LR dropout 0.3 with a
    500-step cosine when `lr_dropout`, clipnorm 1 when `clipgrad`."""
    return {"lr_dropout": 0.3 if o["lr_dropout"] else 1.0, "lr_cos": 500 if o["lr_dropout"] else 0,
            "clipnorm": 1.0 if o["clipgrad"] else 0.0}


def tv_mse(F, x):
    """DFL's total_variation_mse: squared differences of neighbouring pixels, summed per face,
    averaged over the batch."""
    dy, dx = x[:, :, 1:, :] - x[:, :, :-1, :], x[:, :, :, 1:] - x[:, :, :, :-1]
    return (F.sum(dy * dy) + F.sum(dx * dx)) / float(x.shape[0])


def soft_mask(F, mask, res: int):
    """DFL 2.0's training mask: blurred by res/32, then doubled and clipped at 1, so the face
    keeps full weight up to its edge and the fade lies outside it."""
    return F.clip(F.gaussian_blur(mask, max(1, res // 32)), 0.0, 0.5) * 2.0


def blur_out(F, target, mask, sigma: float):
    """DFL 2.0's blur_out_mask: outside the mask the target is replaced by a blur of the
    background alone (normalised by the blurred anti-mask), so no face colour leaks out. DFL
    divides where the anti-mask blur is not 0; here it is floored at 1e-4, where the anti-mask
    itself is 0 and the term vanishes anyway."""
    anti = 1.0 - mask
    x = F.gaussian_blur(target * anti, sigma)
    y = F.clip(1.0 - F.gaussian_blur(mask, sigma), 1e-4, 1.0)
    return target * mask + (x / y) * anti
