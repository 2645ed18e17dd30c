"""Engine-neutral model files: a flat dict of numpy arrays in safetensors, written atomically.

Never pickle: model files are shared between users and must not run code when loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from backends.errors import BackendError
from backends.fileio import atomic_write_bytes

FORMAT = "faceswap-studio/weights/1"


def save_state(path: str | Path, state: dict[str, np.ndarray], metadata: dict | None = None) -> None:
    """Write `state` (e.g. `Engine.state_dict()`) to a .safetensors file atomically; `metadata`
    (JSON-able) travels in the file header."""
    from safetensors.numpy import save

    arrays = {k: np.ascontiguousarray(v) for k, v in state.items()}
    header = {"format": FORMAT, "meta": json.dumps(metadata or {})}
    atomic_write_bytes(path, save(arrays, metadata=header))


def load_state(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by `save_state`; a missing or damaged file is a BackendError."""
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise BackendError("model file not found", p)
    try:
        with safe_open(str(p), framework="numpy") as f:
            header = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for damaged files
        raise BackendError(f"cannot read the model file ({e}); restore it from a backup if there "
                           "is one (the model's _backups folder), or delete it to start over",
                           p) from None
    bad = non_finite(state)
    if bad:
        raise BackendError(f"the model file holds NaN or infinite values ({bad}): its training "
                           "diverged before it was saved. Restore an earlier save if there is "
                           "one (the model's _backups folder), or delete it to start over", p)
    try:
        meta = json.loads(header.get("meta", "{}"))
    except json.JSONDecodeError:
        meta = {}
    return state, meta


def non_finite(state: dict[str, np.ndarray]) -> str:
    """The first array holding NaN or inf, as `name` (and how many more), or "" when all are
    finite. A diverged model must never be written or used: its faces are blank or black."""
    bad = [k for k, v in state.items()
           if np.issubdtype(np.asarray(v).dtype, np.floating) and not np.isfinite(v).all()]
    return "" if not bad else bad[0] + (f" and {len(bad) - 1} more" if len(bad) > 1 else "")
