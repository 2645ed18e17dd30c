"""LIAEF128: full face, 128 px, LIAE (shared encoder, inter_B / inter_AB, one decoder)."""

from __future__ import annotations

from app.models.liae_family import LIAEModel
from app.models.nets import Bottleneck, ConvEncoder, Decoder
from app.models.options import LEARN_MASK, PIXEL_LOSS

#: the registry's declaration (app/registry.py reads it without importing this module)
MODEL = {"name": "LIAEF128", "order": 40, "help": "full face, 128 px, LIAE (one shared decoder)"}


class LIAEF128(LIAEModel):
    name = "LIAEF128"
    face_type = "full"
    default_batch = 8
    options_spec = (LEARN_MASK, PIXEL_LOSS)
    res = 128
    dec = [512, 256, 128]

    @property
    def resolution(self) -> int:
        return self.res

    def make_encoder(self):
        return ConvEncoder(3, 128)

    def make_inter(self):
        lowest = self.res // 16
        return Bottleneck(1024 * lowest * lowest, 256, lowest, 512, 512)

    def make_decoder(self):
        return Decoder(1024, self.dec, out_ch=3)

    def make_mask_decoder(self):
        return Decoder(1024, self.dec, out_ch=1)
