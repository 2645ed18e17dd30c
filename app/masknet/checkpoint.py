"""Resumable mask-network training: the engine's whole state (weights, Adam's moments and its
step, engine-neutral names) saved every few hundred steps into `model/masknet_training/` by the
face models' checkpoint code (safetensors, atomic) with a JSON note of the settings, so a
stopped `mask train` goes on where it was instead of starting over, on either engine. Batches
are a function of (seed, step), so a resumed run trains on exactly the batches an unbroken one
would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from app.fileio import atomic_write_text

FOLDER = "masknet_training"
STATE_FILE, STATE = "state.safetensors", "state.json"
#: 2: the engine's state in one file (1, the torch.nn version's files, starts over)
FORMAT = 2


def save(folder: Path, engine: Any, step: int, settings: dict) -> None:
    """Store the training state after `step` steps (state.json last: it marks a whole save)."""
    folder.mkdir(parents=True, exist_ok=True)
    engine.save(folder / STATE_FILE, {"net": "masknet", "step": step})
    atomic_write_text(folder / STATE, json.dumps({"format": FORMAT, "step": step,
                                                  "settings": settings}, indent=1))


def load(folder: Path, engine: Any, settings: dict) -> int:
    """Restore a saved state made with the same `settings` into `engine` (its optimizer set);
    returns its step (0 when there is none, it was made with other settings or by the torch.nn
    version, or it cannot be read: training then starts over from a fresh init)."""
    try:
        state = json.loads((folder / STATE).read_text("utf-8"))
        if state.get("format") != FORMAT or state.get("settings") != settings:
            return 0
        kept = engine.state_dict()
        try:
            engine.load(folder / STATE_FILE)
        except Exception:  # damaged: put the fresh init back
            engine.load_state_dict(kept)
            return 0
        return int(state["step"])
    except Exception:  # missing or unreadable note: start over
        return 0


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
