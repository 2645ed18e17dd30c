"""H64: half face, 64 px, DeepFaceLab's 2 GB-class model (image and mask branches per side)."""

from __future__ import annotations

from app.models.df_family import TwoDecoderModel
from app.models.nets import Decoder, Encoder
from app.models.options import LEARN_MASK, PIXEL_LOSS, Option

#: the registry's declaration (app/registry.py reads it without importing this module)
MODEL = {"name": "H64", "order": 10, "help": "half face, 64 px: DeepFaceLab's 2 GB-class model"}

LIGHTER_AE = Option("lighter_ae", "Use lightweight autoencoder", False, "bool",
                    help="Smaller bottleneck and decoders: less memory and faster, less detail.")


class H64(TwoDecoderModel):
    name = "H64"
    face_type = "half"
    default_batch = 16
    options_spec = (LIGHTER_AE, LEARN_MASK, PIXEL_LOSS)
    res = 64
    #: (ae_dims, decoder dims) full / lighter, as DFL's H64 and H128
    sizes = {False: (1024, [512, 256, 128]), True: (256, [256, 128, 64])}

    @property
    def resolution(self) -> int:
        return self.res

    def _dims(self):
        return self.sizes[bool(self.options.get("lighter_ae"))]

    def make_encoder(self):
        ae, dec = self._dims()
        return Encoder(self.res, 128, ae_dims=ae, lowest_ch=ae, up_ch=dec[0])

    def make_decoder(self):
        ae, dec = self._dims()
        return Decoder(dec[0], dec, out_ch=3)

    def make_mask_decoder(self):
        ae, dec = self._dims()
        return Decoder(dec[0], dec, out_ch=1)
