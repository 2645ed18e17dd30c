"""What every model offers the trainer, the preview and the merge step.

A model is a tree of engine layers (`self.net`) plus four functions of `(F, P, batch)`:
`loss_fn` (training), `preview_fn` (src->src, dst->dst, dst->src), `swap_fn` (dst face in,
src-looking face and mask out) and the optimizers that minimise the named losses. Models hold no
weights: the engine does, so the same model runs on torch and on OpenCL.
"""

from __future__ import annotations

from typing import Any

import backends.layers as L
from backends.optim import Adam
from app.models.options import PIXEL_LOSS, Option

#: DeepFaceLab's optimizer settings for every model: Adam lr 5e-5, beta1 0.5, beta2 0.999.
ADAM = {"lr": 5e-5, "beta1": 0.5, "beta2": 0.999}


def dssim_kernel(resolution: int, smallest: int) -> int:
    """DFL's DSSIM window, int(resolution / 11.6), kept within the smallest output and >= 3."""
    return max(3, min(int(resolution / 11.6), smallest))


def eyes_mouth_loss(F, target: Any, pred: Any, em: Any) -> Any:
    """DeepFaceLab 2.0's eyes-and-mouth priority (SAEHD, AMP): 300 x the mean absolute error
    inside the eyes-and-mouth mask `em` (app.train.samples.eyes_mouth_mask). The mean runs over
    the whole image, so the weight per masked pixel is far above the rest of the loss's."""
    return 300.0 * F.mae(target * em, pred * em)


def split(x: Any, n: int) -> tuple[Any, Any]:
    """First `n` samples and the rest (src and dst run through a shared net as one batch)."""
    return x[:n], x[n:]


class Net(L.Module):
    """The root of a model's layer tree: named children only (encoder, decoder_src, ...)."""

    def __init__(self, **children: L.Module):
        for k, v in children.items():
            setattr(self, k, v)


class FaceModel:
    """Base of H64, H128, DF, LIAEF128 and SAE."""

    name = ""
    face_type = "full"
    default_batch = 8
    options_spec: tuple[Option, ...] = (PIXEL_LOSS,)

    @classmethod
    def merge_defaults(cls, options: dict) -> dict:
        """The merge settings this model's converter starts from (DeepFaceLab's
        `get_ConverterConfig`): H64, H128, DF and LIAEF128 blend seamlessly."""
        return {"mode": "seamless", "clip_hborder_mask_per": 0.0}

    def __init__(self, options: dict):
        self.options = dict(options)
        self.net = self.build()
        self.specs = self.net.specs()

    # ---- to implement -----------------------------------------------------------------------
    @property
    def resolution(self) -> int:
        raise NotImplementedError

    def build(self) -> Net:
        raise NotImplementedError

    def forward_train(self, F, P, ws, wd) -> dict:
        """Warped src and dst in; dict with `src` / `dst` (lists of outputs low->high res),
        `src_mask` / `dst_mask` (lists or None), `swap` (dst->src, full res) and `swap_mask`."""
        raise NotImplementedError

    def swap(self, F, P, x) -> tuple[Any, Any]:
        """dst faces -> (src-looking faces, mask or None), full resolution."""
        raise NotImplementedError

    def swap_with_dst_mask(self, F, P, x) -> tuple[Any, Any, Any]:
        """dst faces -> (src-looking faces, their mask, dst's own mask), masks None without a
        learned mask: what DeepFaceLive's DFM carries (app.models.export)."""
        raise NotImplementedError

    def reconstruct(self, F, P, src, dst) -> tuple[Any, Any]:
        """src->src and dst->dst at full resolution (preview)."""
        out = self.forward_train(F, P, src, dst)
        return out["src"][-1], out["dst"][-1]

    # ---- shared -----------------------------------------------------------------------------
    multiscale = 1

    @property
    def learn_mask(self) -> bool:
        """DFL's H64/H128/DF/LIAEF128 always learn the mask; here it may be turned off."""
        return bool(self.options.get("learn_mask", True))

    def optimizers(self) -> list:
        """One Adam over everything minimising image + mask loss (DFL's H64/H128/DF/LIAEF128)."""
        return [Adam(name="opt", loss="loss", **ADAM)]

    #: the training samples this model needs besides images and masks (see SampleConfig)
    eyes_mouth_masks = False
    #: parameter prefixes that may start fresh when a saved model lacks them (SAEHD's
    #: discriminators, switched on later in training): backends.engine.Engine.fresh_prefixes
    fresh_prefixes: tuple[str, ...] = ()
    #: code channels a morph factor mixes (AMP); 0: the model has no morph (app.models.export
    #: gives a morphing model's graphs a morph input)
    morph_channels = 0
    #: DFL 2.0's pretraining (app.train.pretrain): on, and what gets fresh weights after it
    pretraining = False
    pretrain_reset_prefixes: tuple[str, ...] = ()

    def sample_settings(self, general: dict) -> tuple[Any, Any, dict]:
        """(src augmentation, dst augmentation, extra SampleConfig fields) for training:
        DeepFaceLab 1.0's sample processor with the trainer's flip and src scale options.
        SAEHD overrides it with its own (warp off, HSV, colour transfer, eyes/mouth masks)."""
        from app.models.augment import AugmentOptions
        flip = bool(general["random_flip"])
        return (AugmentOptions(random_flip=flip, scale_shift=general["src_scale_mod"] / 100.0),
                AugmentOptions(random_flip=flip), {})

    def optimizer_offload(self) -> int:
        """Where the optimizer state lives (backends.engine.Engine.set_optimizer_offload): SAE's
        optimizer mode; 1 (on the device) for the others."""
        return int(self.options.get("optimizer_mode", 1))

    def param_count(self) -> int:
        import numpy as np
        return int(sum(np.prod(s.shape) for s in self.specs.values()))

    def image_loss(self, F, targets: list, preds: list, masks: list, pixel: bool,
                   masked: bool = True) -> Any:
        """DFL's masked reconstruction loss summed over scales: 10 * DSSIM, or 50 * MSE with
        pixel loss. The mask is blurred (radius size // 32) so the face edge is learned softly."""
        k = dssim_kernel(self.resolution, targets[0].shape[2])
        total = None
        for t, p, m in zip(targets, preds, masks):
            if masked:
                mb = F.gaussian_blur(m, max(1, t.shape[2] // 32))
                t, p = t * mb, p * mb
            loss = 50.0 * F.mse(t, p) if pixel else 10.0 * F.dssim(t, p, kernel_size=k)
            total = loss if total is None else total + loss
        return total

    def loss_fn(self, F, P, b) -> dict:
        """src and dst reconstruction (+ learned mask) losses, one optimizer (DFL's H models)."""
        out = self.forward_train(F, P, b["warped_src"], b["warped_dst"])
        pixel = bool(self.options.get("pixel_loss"))
        src = self.image_loss(F, self._targets(b, "src"), out["src"], self._masks(b, "src"), pixel)
        dst = self.image_loss(F, self._targets(b, "dst"), out["dst"], self._masks(b, "dst"), pixel)
        losses = {"src_loss": src, "dst_loss": dst}
        total = src + dst
        if self.learn_mask:
            mask = F.mse(b["mask_src"], out["src_mask"][-1]) + F.mse(b["mask_dst"], out["dst_mask"][-1])
            losses["mask_loss"] = mask
            total = total + mask
        losses["loss"] = total
        return losses

    def _targets(self, b: dict, side: str) -> list:
        return [b[f"target_{side}_{s}"] for s in range(self.multiscale - 1, 0, -1)] + [b[f"target_{side}"]]

    def _masks(self, b: dict, side: str) -> list:
        return [b[f"mask_{side}_{s}"] for s in range(self.multiscale - 1, 0, -1)] + [b[f"mask_{side}"]]

    def preview_fn(self, F, P, b) -> dict:
        ss, dd = self.reconstruct(F, P, b["src"], b["dst"])
        ds, dm = self.swap(F, P, b["dst"])
        out = {"src_src": ss, "dst_dst": dd, "dst_src": ds}
        if dm is not None:
            out["dst_src_mask"] = dm
        return out

    def swap_fn(self, F, P, b) -> tuple[Any, Any]:
        face, mask = self.swap(F, P, b["face"])
        return (face, mask) if mask is not None else (face,)
