"""DF: full face, 128 px, dfaker-style: H128's encoder, decoders with a residual block after
each upscale (the image branch), plain mask decoders."""

from __future__ import annotations

from app.models.h64 import H64
from app.models.nets import Decoder
from app.models.options import LEARN_MASK, PIXEL_LOSS

#: the registry's declaration (app/registry.py reads it without importing this module)
MODEL = {"name": "DF", "order": 30, "help": "full face, 128 px, dfaker-style decoders"}


class DF(H64):
    name = "DF"
    face_type = "full"
    default_batch = 8
    options_spec = (LEARN_MASK, PIXEL_LOSS)
    res = 128
    sizes = {False: (512, [512, 256, 128])}

    def _dims(self):
        return self.sizes[False]

    def make_decoder(self):
        ae, dec = self._dims()
        return Decoder(dec[0], dec, out_ch=3, res_blocks=1)
