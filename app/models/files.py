"""A model's files in the model folder, saved atomically with rotating backups.

`model/[N_]NAME_data.json`      options, iteration, loss history, seed, save id (JSON)
`model/[N_]NAME_weights.safetensors`  weights + optimizer state (engine state dict, never pickle)
`model/[N_]NAME_backups/1..K/`  the previous K saves (hard links: no copy time, no extra disk
                                until the next save replaces the files)
`model/[N_]NAME_preview.png`, `model/[N_]NAME_history/`  previews

Each save writes the weights first, then the JSON, both atomically, and both carry the same save
id; a run killed between the two leaves a mismatch that loading detects, falling back to the
newest consistent backup.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from app.errors import UserError
from backends.checkpoint import non_finite, save_state
from app.fileio import atomic_write_text, remove_stale_temps_of
from app.models.saved_state import check_saved_data

FORMAT = "faceswap-studio/model/1"
KEEP_BACKUPS = 3


class ModelFiles:
    def __init__(self, model_dir: str | Path, name: str, prefix: str = ""):
        self.dir = Path(model_dir)
        self.name = name
        self.stem = f"{prefix}{name}"
        #: the weight average of the file `load` read (None: it has none)
        self.average: dict | None = None

    @property
    def data(self) -> Path:
        return self.dir / f"{self.stem}_data.json"

    @property
    def weights(self) -> Path:
        return self.dir / f"{self.stem}_weights.safetensors"

    @property
    def preview(self) -> Path:
        return self.dir / f"{self.stem}_preview.png"

    @property
    def history_dir(self) -> Path:
        return self.dir / f"{self.stem}_history"

    @property
    def backups_dir(self) -> Path:
        return self.dir / f"{self.stem}_backups"

    def exists(self) -> bool:
        return self.data.is_file() or self.weights.is_file()

    # ---- save -------------------------------------------------------------------------------
    def save(self, engine: Any, data: dict, extra: dict | None = None) -> None:
        """Back up the current save, then write weights and data (atomic, same save id).
        `extra`: more arrays for the weights file (the weight average, `ema/<name>`)."""
        state = {**engine.state_dict(), **(extra or {})}
        bad = non_finite(state)
        if bad:   # checked before the backups rotate: the last good save stays the newest
            raise UserError(f"not saved: the weights hold NaN or infinite values ({bad}), the "
                            "training diverged; the last good save is kept. Lower the learning "
                            "rate or check the options", self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.remove_stale_temps()
        self._rotate_backups()
        save_id = uuid.uuid4().hex
        record = {"format": FORMAT, **data, "save_id": save_id, "saved_at": time.time()}
        try:
            save_state(self.weights, state, {"save_id": save_id, "model": data.get("model"),
                                             "iteration": data.get("iteration")})
            atomic_write_text(self.data, json.dumps(record, indent=1))
        except OSError as e:
            raise UserError(f"cannot save the model ({e}); free some disk space, the previous "
                            f"save is kept in {self.backups_dir}", self.dir) from None

    def remove_stale_temps(self) -> None:
        """Delete what a killed save left (app.fileio's `.<name>.*.tmp*` files, model-sized).
        Only while this run holds the model's lock (app.train.model_lock)."""
        for target in (self.weights, self.data):
            remove_stale_temps_of(target)

    def _rotate_backups(self) -> None:
        if not (self.data.is_file() and self.weights.is_file()):
            return
        root = self.backups_dir
        root.mkdir(exist_ok=True)
        oldest = root / str(KEEP_BACKUPS)
        if oldest.exists():
            shutil.rmtree(oldest)
        for k in range(KEEP_BACKUPS - 1, 0, -1):
            if (root / str(k)).exists():
                os.replace(root / str(k), root / str(k + 1))
        slot = root / "1"
        slot.mkdir()
        for f in (self.weights, self.data):
            _link_or_copy(f, slot / f.name)

    # ---- load -------------------------------------------------------------------------------
    def read_data(self, path: Path | None = None) -> dict:
        path = path or self.data
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise UserError(f"model data file missing; {self.restore_hint()}", path) from None
        except (OSError, ValueError) as e:
            raise UserError(f"model data file unreadable ({e}); {self.restore_hint()}",
                            path) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UserError("not a model data file of this app (a DeepFaceLab 1.0 model or "
                            "another tool's?); use an empty model folder", path)
        check_saved_data(data, self.name, path, self.restore_hint())
        return data

    def restore_hint(self) -> str:
        """What to do about a bad save: the newest backup if one exists (never a folder that is
        not there), else start over."""
        slot = self.backups_dir / "1"
        if (slot / self.data.name).is_file():
            return (f"copy the previous save's two files from {slot} over it, or delete the "
                    "model's files to start over")
        return "no backup of this model exists; delete the model's files to start over"

    def load(self, engine: Any) -> dict:
        """Load weights + optimizer state into `engine`; returns the data JSON. An interrupted
        last save falls back to the newest backup whose two files agree. The weight average
        that file holds, if any, is left in `self.average` (app.models.weight_average)."""
        from backends.checkpoint import load_state
        from app.models.weight_average import averaged

        candidates = [(self.data, self.weights)]
        for k in range(1, KEEP_BACKUPS + 1):
            slot = self.backups_dir / str(k)
            candidates.append((slot / self.data.name, slot / self.weights.name))
        for i, (dpath, wpath) in enumerate(candidates):
            if not (dpath.is_file() and wpath.is_file()):
                if i == 0:
                    continue
                break
            data = self.read_data(dpath)
            meta = _weights_meta(wpath, self.restore_hint())
            if meta.get("save_id") != data.get("save_id"):
                continue
            state, _ = load_state(wpath)
            engine.load_state_dict(state, wpath)
            self.average = averaged(state)
            if i:
                print(f"note: the last save of {self.stem} was interrupted; resumed from the "
                      f"backup {dpath.parent} (iteration {data.get('iteration')})")
            return data
        raise UserError("the model's data and weights files do not belong together and no "
                        "consistent backup exists; delete the model's files to start over",
                        self.weights)


def _weights_meta(path: Path, restore: str) -> dict:
    from safetensors import safe_open
    try:
        with safe_open(str(path), framework="numpy") as f:
            header = f.metadata() or {}
        return json.loads(header.get("meta", "{}"))
    except Exception as e:
        raise UserError(f"cannot read the model weights ({e}); {restore}", path) from None


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard link (instant; the next atomic save creates a new file, so the link keeps the old
    contents); a copy where the filesystem has no hard links."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def find_model_files(model_dir: str | Path, name: str) -> ModelFiles:
    """The files of model `name` in `model_dir`: `NAME_*` or a single `N_NAME_*` (GPU prefix)."""
    model_dir = Path(model_dir)
    plain = ModelFiles(model_dir, name)
    if plain.data.is_file():
        return plain
    prefixed = sorted(p for p in model_dir.glob(f"*_{name}_data.json")
                      if p.name.split("_", 1)[0].isdigit())
    if len(prefixed) == 1:
        return ModelFiles(model_dir, name, prefixed[0].name.split("_", 1)[0] + "_")
    if len(prefixed) > 1:
        found = ", ".join(p.name for p in prefixed)
        raise UserError(f"several trained {name} models here ({found}); pass the model name "
                        "with its GPU prefix, e.g. 0_" + name, model_dir)
    return plain


def foreign_model_files(model_dir: str | Path) -> list[str]:
    """Files of DeepFaceLab 1.0 or other tools (Keras .h5, pickled .dat/.pkl): never loaded."""
    d = Path(model_dir)
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir()
                  if p.suffix.lower() in (".h5", ".dat", ".pkl", ".pickle", ".npy", ".pth", ".pt"))


def available_models(model_dir: str | Path) -> list[str]:
    """Model names with saved files in `model_dir` (`[N_]NAME_data.json`)."""
    from app.models import canonical_name

    model_dir = Path(model_dir)
    found = []
    for p in sorted(model_dir.glob("*_data.json")) if model_dir.is_dir() else []:
        name = canonical_name(p.name[:-len("_data.json")].split("_")[-1])
        if name is not None and name not in found:
            found.append(name)
    return found
