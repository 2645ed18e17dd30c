"""The extraction nets whose weights ship in app/extract/weights (MTCNN, the iris net): an
engine holding a model's committed safetensors weights, for inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def engine_with_weights(model, weights: Path, engine: str = "torch", device=None):
    """An engine (`backends.get_engine(engine, device)`) with `model`'s parameters loaded from
    `weights`. torch runs in fp32: these nets give boxes and points, which bf16 would move."""
    from safetensors.numpy import load_file

    from backends import get_engine
    kw = {"precision": "fp32"} if engine == "torch" else {}
    eng = get_engine(engine, device, **kw)
    eng.init_params(model.specs())
    eng.load_state_dict({k: np.asarray(v, np.float32) for k, v in load_file(str(weights)).items()},
                        weights)
    return eng
