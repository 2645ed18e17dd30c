"""Resumable mask-network training: weights, Adam's moments and the step, saved every few
hundred steps into `model/masknet_training/` (safetensors + JSON, atomic), so a stopped
`mask train` goes on where it was instead of starting over. Batches are a function of (seed,
step), so a resumed run trains on exactly the batches an unbroken one would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from app.fileio import atomic_path, atomic_write_text

FOLDER = "masknet_training"
WEIGHTS, OPTIMIZER, STATE = "weights.safetensors", "adam.safetensors", "state.json"


def save(folder: Path, net, opt, step: int, settings: dict) -> None:
    """Store the training state after `step` steps (state.json last: it marks a whole save)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    moments = {f"{i}.{name}": t.detach().reshape(-1).contiguous() if name == "step" else
               t.detach().contiguous()
               for i, st in opt.state_dict()["state"].items() for name, t in st.items()}
    with atomic_path(folder / WEIGHTS) as tmp:
        save_file(weights, str(tmp))
    with atomic_path(folder / OPTIMIZER) as tmp:
        save_file(moments, str(tmp))
    atomic_write_text(folder / STATE, json.dumps({"step": step, "settings": settings}, indent=1))


def load(folder: Path, net, opt, settings: dict) -> int:
    """Restore a saved state made with the same `settings`; returns its step (0 when there is
    none, it was made with other settings, or it cannot be read: training then starts over)."""
    from safetensors.torch import load_file

    try:
        state = json.loads((folder / STATE).read_text("utf-8"))
        if state.get("settings") != settings:
            return 0
        net.load_state_dict(load_file(str(folder / WEIGHTS)))
        moments = load_file(str(folder / OPTIMIZER))
        sd = opt.state_dict()
        restored: dict = {}
        for key, t in moments.items():
            i, name = key.split(".", 1)
            restored.setdefault(int(i), {})[name] = t.reshape(()) if name == "step" else t
        sd["state"] = restored
        opt.load_state_dict(sd)
        return int(state["step"])
    except Exception:  # missing, damaged or foreign: start over (the weights are re-initialised)
        return 0


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
