"""Shared encoder, one decoder per side (H64, H128, DF and SAE's df/vg architectures).

src and dst go through the encoder as one batch (same weights, bigger kernels, fewer calls);
each side's code then goes to its own decoder. The swap is dst's code through src's decoder.
"""

from __future__ import annotations

from typing import Any

from app.models.base import FaceModel, Net, split


class TwoDecoderModel(FaceModel):
    """Subclasses implement the three factories; each decoder call gives a fresh decoder."""

    def make_encoder(self):
        raise NotImplementedError

    def make_decoder(self):
        raise NotImplementedError

    def make_mask_decoder(self):
        raise NotImplementedError

    def build(self) -> Net:
        kids = {"encoder": self.make_encoder(), "decoder_src": self.make_decoder(),
                "decoder_dst": self.make_decoder()}
        if self.learn_mask:
            kids.update(decoder_srcm=self.make_mask_decoder(), decoder_dstm=self.make_mask_decoder())
        return Net(**kids)

    def forward_train(self, F, P, ws, wd, need_swap: bool = False) -> dict:
        net, n = self.net, ws.shape[0]
        cs, cd = split(net.encoder(F, P, F.concat([ws, wd], 0)), n)
        out: dict[str, Any] = {"src": net.decoder_src(F, P, cs), "dst": net.decoder_dst(F, P, cd)}
        if self.learn_mask:
            out["src_mask"] = net.decoder_srcm(F, P, cs)
            out["dst_mask"] = net.decoder_dstm(F, P, cd)
        if need_swap:
            out["swap"] = net.decoder_src(F, P, cd)[-1]
        return out

    def swap(self, F, P, x):
        code = self.net.encoder(F, P, x)
        mask = self.net.decoder_srcm(F, P, code)[-1] if self.learn_mask else None
        return self.net.decoder_src(F, P, code)[-1], mask

    def swap_with_dst_mask(self, F, P, x):
        code = self.net.encoder(F, P, x)
        face = self.net.decoder_src(F, P, code)[-1]
        if not self.learn_mask:
            return face, None, None
        return (face, self.net.decoder_srcm(F, P, code)[-1],
                self.net.decoder_dstm(F, P, code)[-1])
