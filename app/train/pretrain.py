"""DeepFaceLab 2.0's pretraining mode (SAEHD): train first on any face set (faces of many other
people, both sides from the same folder), then continue on the real src/dst.

A model reports it pretrains through `model.pretraining`; when a run turns pretraining off,
DFL restarts the iteration count at 0 and gives the intermediate layer(s) fresh weights (the
encoder and decoders keep what they learned about faces in general): `leave_pretraining`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.errors import UserError


def face_dirs(model: Any, src_dir: Any, dst_dir: Any, pretrain_dir: Any) -> tuple[Any, Any]:
    """The (src, dst) face folders a run trains on: both the pretraining folder in pretraining."""
    if not getattr(model, "pretraining", False):
        return src_dir, dst_dir
    if pretrain_dir is None:
        raise UserError("option pretrain is on: give the pretraining faces (any aligned faces, "
                        "e.g. of many other people) with --pretrain-dir DIR, or turn pretrain off")
    return Path(pretrain_dir), Path(pretrain_dir)


def just_left(saved_options: dict, options: dict) -> bool:
    return bool(saved_options.get("pretrain")) and not options.get("pretrain")


def leave_pretraining(engine: Any, model: Any, seed: int) -> list[str]:
    """Fresh weights for `model.pretrain_reset_prefixes`; returns the parameters reset."""
    from backends.layers import init_params
    specs = {k: v for k, v in model.specs.items() if k.startswith(model.pretrain_reset_prefixes)}
    sd = engine.state_dict()
    sd.update(init_params(specs, seed + 1))
    engine.load_state_dict(sd)
    return sorted(specs)
