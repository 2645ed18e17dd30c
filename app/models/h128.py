"""H128: half face, 128 px (DeepFaceLab's H128: H64's flow at twice the size, 512-d bottleneck)."""

from __future__ import annotations

from app.models.h64 import H64

#: the registry's declaration (app/registry.py reads it without importing this module)
MODEL = {"name": "H128", "order": 20, "help": "half face, 128 px"}


class H128(H64):
    name = "H128"
    default_batch = 8
    res = 128
    sizes = {False: (512, [512, 256, 128]), True: (256, [256, 128, 64])}
