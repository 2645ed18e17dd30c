"""DeepFaceLab 1.0's model family on the engine layer API: H64, H128, DF, LIAEF128, SAE.

`model_class(name)` gives a model class (its `options_spec` drives the questions),
`load_predictor(...)` gives the merge step a dst->src face predictor from a trained model folder.
Import-light: the model modules (and the engines) load on first use.
"""

from __future__ import annotations

import importlib

MODELS = ("H64", "H128", "DF", "LIAEF128", "SAE")
_MODULES = {"H64": "h64", "H128": "h128", "DF": "df", "LIAEF128": "liaef128", "SAE": "sae"}


def model_class(name: str):
    """The class of model `name` (case-insensitive); UserError listing the models otherwise."""
    from app.errors import UserError

    key = {m.lower(): m for m in MODELS}.get(str(name).lower())
    if key is None:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return getattr(importlib.import_module(f"app.models.{_MODULES[key]}"), key)


def load_predictor(model_dir, model_name: str, engine: str = "torch", device=None):
    """A trained model as a predictor for merge (see app.models.predictor.Predictor)."""
    from app.models.predictor import Predictor
    return Predictor.load(model_dir, model_name, engine=engine, device=device)


__all__ = ["MODELS", "model_class", "load_predictor"]
