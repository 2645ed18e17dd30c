"""Quick96: DeepFaceLab 2.0's quick model (its models/Model_Quick96/Model.py): SAEHD's network
at a fixed small size, no questions: 96 px full face, df-ud, AE 128, encoder and decoder 64,
mask decoder 16, masked training, RMSprop with LR dropout 0.3, batch 4, no flips, and every
third step the previous faces again without the random warp.

Where ours differs: DFL trains it at lr 2e-4; here the trainer's learning rate question sets it
(default 5e-5, as for every model; answer 2e-4 for DFL's).
"""

from __future__ import annotations

from typing import Any

from backends.optim import RMSprop
from app.models.options import resolve
from app.models.saehd import OPTIONS as SAEHD_OPTIONS, SAEHD

#: the registry's declaration (app/registry.py reads it without importing this module)
MODEL = {"name": "Quick96", "order": 70,
         "help": "DeepFaceLab 2.0's Quick96: 96 px full face, df-ud, no questions, quick to try"}

FIXED = {"resolution": 96, "face_type": "f", "archi": "df-ud", "ae_dims": 128, "e_dims": 64,
         "d_dims": 64, "d_mask_dims": 16, "masked_training": True, "adabelief": False,
         "lr_dropout": True}


class Quick96(SAEHD):
    name = "Quick96"
    default_batch = 4
    options_spec = ()

    def __init__(self, options: dict):
        learn_mask = options.get("learn_mask")     # the predictor's mask switch, if any
        fixed = resolve(SAEHD_OPTIONS, FIXED)
        super().__init__(fixed if learn_mask is None else {**fixed, "learn_mask": learn_mask})

    def optimizers(self) -> list:
        """DFL: RMSprop with LR dropout 0.3 and no cosine wave."""
        return [RMSprop(name="src_dst_rmsprop", lr=2e-4, eps=1e-6, loss="loss",
                        params=self.trainable_params(), lr_dropout=0.3)]

    def sample_settings(self, general: dict) -> tuple[Any, Any, dict]:
        from app.models.augment import AugmentOptions
        src, dst, extra = super().sample_settings(general)
        src = AugmentOptions(scale=src.scale, random_flip=False, random_warp=True)
        dst = AugmentOptions(scale=dst.scale, random_flip=False, random_warp=True)
        return src, dst, {**extra, "repeat_unwarped_every": 3}
