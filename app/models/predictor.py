"""A trained model as the merge step sees it: dst faces in, src-looking faces and masks out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError


class Predictor:
    """`.resolution`, `.face_type`, `.learned_mask`, `.predict(faces, need_mask=True)`.

    `predict` takes float32 [N, res, res, 3] BGR faces in 0..1 aligned with the model's face type
    at its resolution, and returns (faces_bgr [N, res, res, 3], mask [N, res, res, 1]). Models
    trained without a learned mask return an all-ones mask (`learned_mask` False): merge then
    uses the dst landmarks' hull, as DeepFaceLab does. `need_mask=False` skips the mask decoder
    (as much work as the image decoder) and returns an all-ones mask: for merge settings that
    never read the learned mask (`skips_mask` says this predictor can).
    """

    skips_mask = True

    def __init__(self, model: Any, engine: Any, iteration: int = 0):
        self.model, self.engine, self.iteration = model, engine, iteration
        self.resolution = int(model.resolution)
        self.face_type = str(model.face_type)
        self.learned_mask = bool(model.learn_mask)
        self.name = model.name
        #: the model state that makes the frames (merge redoes its frames when this changes)
        self.stamp = training_stamp(model.name, iteration)
        # the engine's fast inference form (torch bf16: weights cast once, not every call)
        self._weights = engine.inference_cache
        self._swap = engine.inference_fn(model.swap_fn)
        self._swap_no_mask = engine.inference_fn(_without_mask(model).swap_fn)

    @classmethod
    def load(cls, model_dir: str | Path, model_name: str, engine: str = "torch",
             device: Any = None, merge_options: dict | None = None) -> "Predictor":
        """`merge_options`: merge-time settings the model reads beside its saved options
        (AMP's `morph_value`); models without such a setting ignore them."""
        from backends import get_engine
        from app.models import model_class

        files = find_files(model_dir, model_name)
        if not files.data.is_file():
            raise UserError(f"no trained {files.name} model here; train it first with "
                            f"`python -m app train {files.name}`", model_dir)
        data = files.read_data()
        model = model_class(files.name)({**data["options"], **(merge_options or {})})
        eng = get_engine(engine, device)
        eng.init_params(model.specs, seed=0)
        data = files.load(eng)
        if files.average is not None:  # trained with a weight average: merge draws with it
            eng.assign_weights(files.average)
        return cls(model, eng, int(data.get("iteration", 0)))

    def predict(self, faces: np.ndarray, batch: int = 16,
                need_mask: bool = True) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(faces, np.float32)
        r = self.resolution
        if x.ndim != 4 or x.shape[1:] != (r, r, 3):
            raise ValueError(f"expected faces of shape [N, {r}, {r}, 3], got {x.shape}")
        fn = self._swap if need_mask else self._swap_no_mask
        out_f, out_m = [], []
        for i in range(0, len(x), batch):
            chunk = np.ascontiguousarray(x[i:i + batch].transpose(0, 3, 1, 2))
            res = self.engine.predict(fn, {"face": chunk})
            out_f.append(res[0].transpose(0, 2, 3, 1))
            out_m.append(res[1].transpose(0, 2, 3, 1) if len(res) > 1
                         else np.ones((len(chunk), r, r, 1), np.float32))
        return (np.clip(np.concatenate(out_f), 0, 1).astype(np.float32),
                np.clip(np.concatenate(out_m), 0, 1).astype(np.float32))


def training_stamp(name: str, iteration: int) -> str:
    """A trained model's state as merge records it (app.merge.engine.model_stamp); the graph
    predictor of the same model gives the same, so switching the merge engine keeps frames."""
    return f"{name} at iteration {iteration}"


def find_files(model_dir: str | Path, model_name: str) -> Any:
    """The ModelFiles of `model_name` (`SAE`, or with its GPU prefix `0_SAE`) in `model_dir`."""
    from app.models import model_class
    from app.models.files import ModelFiles, find_model_files

    head, _, rest = model_name.partition("_")
    name, prefix = (rest, head + "_") if head.isdigit() and rest else (model_name, "")
    mcls = model_class(name)
    return ModelFiles(model_dir, mcls.name, prefix) if prefix \
        else find_model_files(model_dir, mcls.name)


def _without_mask(model: Any) -> Any:
    """The same model (same layers, same weights) with its mask branch switched off: every
    model's swap skips the mask decoder when `learn_mask` is False."""
    view = object.__new__(type(model))  # not copy.copy: SAE's __new__ takes the options
    view.__dict__.update(model.__dict__)
    view.options = dict(model.options, learn_mask=False)
    return view
