"""LIAE: shared encoder, two intermediates (inter_B: dst only, inter_AB: both), one decoder.

src is decoded from [AB(src), AB(src)], dst from [B(dst), AB(dst)], and the swap from
[AB(dst), AB(dst)]: the decoder morphs src into dst's pose and light while keeping src's
features (DeepFaceLab's LIAEF128 and SAE's liae architecture).
"""

from __future__ import annotations

from typing import Any

from app.models.base import FaceModel, Net, split


class LIAEModel(FaceModel):
    def make_encoder(self):
        raise NotImplementedError

    def make_inter(self):
        raise NotImplementedError

    def make_decoder(self):
        raise NotImplementedError

    def make_mask_decoder(self):
        raise NotImplementedError

    def build(self) -> Net:
        kids = {"encoder": self.make_encoder(), "inter_B": self.make_inter(),
                "inter_AB": self.make_inter(), "decoder": self.make_decoder()}
        if self.learn_mask:
            kids["decoderm"] = self.make_mask_decoder()
        return Net(**kids)

    def forward_train(self, F, P, ws, wd, need_swap: bool = False) -> dict:
        net, n = self.net, ws.shape[0]
        code = net.encoder(F, P, F.concat([ws, wd], 0))
        ab_s, ab_d = split(net.inter_AB(F, P, code), n)
        b_d = net.inter_B(F, P, split(code, n)[1])
        both = F.concat([F.concat([ab_s, ab_s], 1), F.concat([b_d, ab_d], 1)], 0)
        if need_swap:
            both = F.concat([both, F.concat([ab_d, ab_d], 1)], 0)
        out: dict[str, Any] = {}
        decoded = [("", net.decoder)] + ([("_mask", net.decoderm)] if self.learn_mask else [])
        for suffix, dec in decoded:
            ys = dec(F, P, both)
            out["src" + suffix] = [y[:n] for y in ys]
            out["dst" + suffix] = [y[n:2 * n] for y in ys]
            if need_swap and not suffix:
                out["swap"] = ys[-1][2 * n:]
        return out

    def swap(self, F, P, x):
        ab = self.net.inter_AB(F, P, self.net.encoder(F, P, x))
        code = F.concat([ab, ab], 1)
        mask = self.net.decoderm(F, P, code)[-1] if self.learn_mask else None
        return self.net.decoder(F, P, code)[-1], mask

    def swap_with_dst_mask(self, F, P, x):
        code = self.net.encoder(F, P, x)
        ab, b = self.net.inter_AB(F, P, code), self.net.inter_B(F, P, code)
        swap_code = F.concat([ab, ab], 1)
        face = self.net.decoder(F, P, swap_code)[-1]
        if not self.learn_mask:
            return face, None, None
        return (face, self.net.decoderm(F, P, swap_code)[-1],
                self.net.decoderm(F, P, F.concat([b, ab], 1))[-1])
