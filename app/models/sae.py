"""SAE: DeepFaceLab 1.0's flexible model (resolution, face type, architecture, dims, losses).

df: shared encoder + src/dst decoders; liae: encoder + inter_B/inter_AB + one decoder; vg:
DeepFaceLab 1.0's experimental 'vg' (its VGEncFlow / VGDecFlow: src/dst decoders as df, an
encoder with 16 residual blocks at half resolution, a residual block after each decoder upscale;
no multiscale decoder). Image and mask are learned by one optimizer (see SAE.optimizers).
"""

from __future__ import annotations

from typing import Any

from backends.layers import names
from backends.optim import Adam
from app.models.base import ADAM, FaceModel, eyes_mouth_loss
from app.models.df_family import TwoDecoderModel
from app.models.liae_family import LIAEModel
from app.models.nets import Bottleneck, ConvEncoder, Decoder, Encoder, VGEncoder, VGResBlock
from app.models.options import PIXEL_LOSS, Option

#: the registry's declaration (app/registry.py reads it without importing this module)
MODEL = {"name": "SAE", "order": 50, "help": "every option: resolution, face type, architecture, dims, losses"}

ARCHIS = ("df", "liae", "vg")

OPTIONS = (
    Option("resolution", "Resolution ( 64-256 )", 128, "int", lo=64, hi=256, step=16,
           help="More resolution needs more memory and time; must be a multiple of 16."),
    Option("face_type", "Half or Full face? (h/f)", "f", "choice", choices=("h", "f"),
           help="Half face has better resolution but covers less of the cheeks."),
    Option("learn_mask", "Learn mask", True, "bool",
           help="Learns the face mask, used by merge for a better fit; costs some speed."),
    Option("optimizer_mode", "Optimizer mode ( 1,2,3 )", 1, "int", lo=1, hi=3, overridable=True,
           help="1: optimizer state on the device. 2 and 3: optimizer state in system RAM, to fit "
                "a bigger network on the GPU (3 also updates on the CPU). No effect when "
                "training on the CPU."),
    Option("archi", "AE architecture (df, liae, vg)", "df", "choice", choices=ARCHIS,
           help="df keeps faces more natural; liae fixes overly different face shapes; vg is "
                "DeepFaceLab's experimental residual network (df with 16 residual blocks in the "
                "encoder and one after each decoder upscale; slower)."),
    Option("ae_dims", "AutoEncoder dims ( 128-1024 )", lambda o: 256 if o.get("archi") == "liae"
           else 512, "int", lo=128, hi=1024,
           help="More dims are better but need more memory."),
    Option("e_ch_dims", "Encoder dims per channel ( 21-85 )", 42, "int", lo=21, hi=85,
           help="More encoder dims recognise more facial features; needs more memory."),
    Option("d_ch_dims", "Decoder dims per channel ( 11-85 )", lambda o: 21, "int", lo=11, hi=85,
           help="More decoder dims give more detail; needs more memory."),
    Option("d_residual_blocks", "Add residual blocks to decoder", False, "bool",
           help="Two residual blocks after each decoder upscale: better quality, more time.",
           when=lambda o: o.get("archi") != "vg",
           why_not="SAE's vg decoder already has its own residual block after each upscale "
                   "(DeepFaceLab 1.0's VGDecFlow); leave the option out or use archi df or liae"),
    Option("remove_gray_border", "Remove gray border", False, "bool",
           help="The reconstruction loss also covers the background around the face, so the "
                "predicted face has no gray, blurred border; costs training time."),
    Option("lighter_encoder", "Use lightweight encoder", False, "bool",
           help="Separable convolutions in the encoder's downscales (df: 2nd to 4th, liae: 2nd "
                "and 4th, vg: as liae): faster, less memory."),
    Option("multiscale_decoder", "Use multiscale decoder", False, "bool",
           help="The decoder also learns the 1/2 and 1/4 size faces: better structure.",
           when=lambda o: o.get("archi") != "vg",
           why_not="SAE's vg decoder outputs one scale only (DeepFaceLab 1.0's VGDecFlow has "
                   "no multiscale output); leave the option out or use archi df or liae"),
    PIXEL_LOSS,
    Option("eyes_mouth_prio", "Eyes and mouth priority", False, "bool", overridable=True,
           help="Adds DeepFaceLab 2.0's eyes-and-mouth term (SAEHD's option) to the loss: "
                "the eyes and the inner mouth weigh far more, against alien eyes and a wrong "
                "gaze in long runs. Not in DeepFaceLab 1.0's SAE; off keeps SAE as it was."),
    Option("face_style_power", "Face style power ( 0..100 )", 0.0, "float", lo=0, hi=100,
           overridable=True,
           help="Learns the colour of dst's face in the swapped face (0: off). Start at 10."),
    Option("bg_style_power", "Background style power ( 0..100 )", 0.0, "float", lo=0, hi=100,
           overridable=True,
           help="Learns dst's background around the swapped face (0: off). Start at 10."),
)


class _SAEParts:
    """The SAE option-driven sizes, shared by the df and liae variants."""

    options: dict

    @property
    def resolution(self) -> int:
        return int(self.options["resolution"])

    @property
    def face_type(self) -> str:  # type: ignore[override]
        return "half" if self.options["face_type"] == "h" else "full"

    @property
    def learn_mask(self) -> bool:  # type: ignore[override]
        return bool(self.options["learn_mask"])

    @property
    def eyes_mouth_masks(self) -> bool:  # type: ignore[override]
        return bool(self.options.get("eyes_mouth_prio"))

    @property
    def multiscale(self) -> int:  # type: ignore[override]
        return 3 if self.options.get("multiscale_decoder") else 1

    def _dec_dims(self, out_ch: int) -> list[int]:
        d = out_ch * int(self.options["d_ch_dims"])
        return [d * 8, d * 4, d * 2]

    def _image_decoder(self, cin: int) -> Decoder:
        if self.options["archi"] == "vg":
            return Decoder(cin, self._dec_dims(3), out_ch=3, res_blocks=1, block=VGResBlock)
        return Decoder(cin, self._dec_dims(3), out_ch=3,
                       res_blocks=2 if self.options.get("d_residual_blocks") else 0,
                       multiscale=self.multiscale)

    def _mask_decoder(self, cin: int) -> Decoder:
        if self.options["archi"] == "vg":
            return Decoder(cin, self._dec_dims(1), out_ch=1, res_blocks=1, block=VGResBlock)
        return Decoder(cin, self._dec_dims(1), out_ch=1)


class SAE(FaceModel):
    """Factory: SAE(options) gives the df/vg or the liae variant."""

    name = "SAE"
    default_batch = 8
    options_spec = OPTIONS

    @classmethod
    def merge_defaults(cls, options: dict) -> dict:
        """DeepFaceLab 1.0's SAE converter: overlay when a style power was trained (the face
        already carries dst's colours), else seamless; a full face has its mask's left, right
        and bottom border clipped by 1/16 of the face (`clip_hborder_mask_per` 0.0625)."""
        styled = float(options.get("face_style_power", 0) or 0) or \
            float(options.get("bg_style_power", 0) or 0)
        full = options.get("face_type", "f") == "f"
        return {"mode": "overlay" if styled else "seamless",
                "clip_hborder_mask_per": 0.0625 if full else 0.0}

    def __new__(cls, options: dict):
        if cls is SAE:
            cls = SAELIAE if options.get("archi") == "liae" else SAEDF
        return object.__new__(cls)

    def sample_settings(self, general: dict) -> tuple[Any, Any, dict]:
        """DeepFaceLab 1.0's samples, with the eyes-and-mouth masks when their priority is on."""
        src, dst, extra = super().sample_settings(general)
        return src, dst, {**extra, "eyes_mouth": self.eyes_mouth_masks}

    # ---- losses (DFL's SAE) -----------------------------------------------------------------
    def optimizers(self) -> list:
        """One Adam over image + mask loss. DFL 1.0 ran a second Adam for the mask (encoder +
        mask decoders); that costs a second backward pass through the encoder every step
        (~15 % of the step), so the mask loss is added to the image loss instead, as DFL 2.0
        does. Image decoders still get gradients only from the image loss, mask decoders only
        from the mask loss."""
        return [Adam(name="opt", loss="total", **ADAM)]

    def loss_fn(self, F, P, b) -> dict:
        o = self.options
        fsp, bsp = float(o["face_style_power"]) / 100, float(o["bg_style_power"]) / 100
        out = self.forward_train(F, P, b["warped_src"], b["warped_dst"], need_swap=bool(fsp or bsp))
        pixel, masked = bool(o["pixel_loss"]), not o["remove_gray_border"]
        src = self.image_loss(F, self._targets(b, "src"), out["src"], self._masks(b, "src"), pixel, masked)
        dst = self.image_loss(F, self._targets(b, "dst"), out["dst"], self._masks(b, "dst"), pixel, masked)
        if self.eyes_mouth_masks:
            src = src + eyes_mouth_loss(F, b["target_src"], out["src"][-1], b["em_src"])
            dst = dst + eyes_mouth_loss(F, b["target_dst"], out["dst"][-1], b["em_dst"])
        losses: dict[str, Any] = {"src_loss": src, "dst_loss": dst}
        if fsp or bsp:
            src = src + self.style_losses(F, b, out["swap"], fsp, bsp, pixel)
        losses["loss"] = src + dst
        losses["total"] = losses["loss"]
        if self.learn_mask:
            losses["mask_loss"] = (F.mse(b["mask_src"], out["src_mask"][-1])
                                   + F.mse(b["mask_dst"], out["dst_mask"][-1]))
            losses["total"] = losses["loss"] + losses["mask_loss"]
        return losses

    def style_losses(self, F, b, swap, fsp: float, bsp: float, pixel: bool):
        """Face style: the swapped face takes dst's colours inside the mask; background style:
        the swap reproduces dst outside the mask (DFL's face_style_power / bg_style_power)."""
        res = self.resolution
        m = F.gaussian_blur(b["mask_dst"], max(1, res // 32))
        target, total = b["target_dst"], None
        if fsp:
            total = F.style_loss(swap * m, target * m, blur_radius=res // 16, weight=fsp)
        if bsp:
            am = 1.0 - m
            if pixel:
                bg = (50.0 * bsp) * F.mse(swap * am, target * am)
            else:
                bg = (10.0 * bsp) * F.dssim(target * am, swap * am, kernel_size=int(res / 11.6))
            total = bg if total is None else total + bg
        return total


class SAEDF(_SAEParts, TwoDecoderModel, SAE):
    def make_encoder(self):
        o = self.options
        ae, dims, light = int(o["ae_dims"]), 3 * int(o["e_ch_dims"]), bool(o["lighter_encoder"])
        if o["archi"] == "vg":
            return VGEncoder(self.resolution, dims, ae, light)
        return Encoder(self.resolution, dims, ae_dims=ae, lowest_ch=ae, up_ch=ae, light=light)

    def make_decoder(self):
        return self._image_decoder(int(self.options["ae_dims"]))

    def make_mask_decoder(self):
        return self._mask_decoder(int(self.options["ae_dims"]))

    def image_params(self) -> list[str]:
        """The weights the image loss trains (the rest: mask decoders)."""
        return names(self.net.encoder, self.net.decoder_src, self.net.decoder_dst)

    def mask_params(self) -> list[str]:
        return names(self.net.encoder, self.net.decoder_srcm, self.net.decoder_dstm)


class SAELIAE(_SAEParts, LIAEModel, SAE):
    def make_encoder(self):
        o = self.options
        return ConvEncoder(3, 3 * int(o["e_ch_dims"]), light=bool(o["lighter_encoder"]))

    def make_inter(self):
        ae, lowest = int(self.options["ae_dims"]), self.resolution // 16
        fin = 3 * int(self.options["e_ch_dims"]) * 8 * lowest * lowest
        return Bottleneck(fin, ae, lowest, ae * 2, ae * 2)

    def make_decoder(self):
        return self._image_decoder(int(self.options["ae_dims"]) * 4)

    def make_mask_decoder(self):
        return self._mask_decoder(int(self.options["ae_dims"]) * 4)

    def image_params(self) -> list[str]:
        """The weights the image loss trains (the rest: mask decoders)."""
        n = self.net
        return names(n.encoder, n.inter_B, n.inter_AB, n.decoder)

    def mask_params(self) -> list[str]:
        n = self.net
        return names(n.encoder, n.inter_B, n.inter_AB, n.decoderm)
