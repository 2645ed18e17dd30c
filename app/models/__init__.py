"""DeepFaceLab 1.0's model family on the engine layer API: H64, H128, DF, LIAEF128, SAE.

A model is one module in this folder that declares `MODEL = {"name": ..., "order": ...,
"help": ...}` and defines a class of that name (see docs/INTERFACES.md); nothing else lists the
models. `model_names()` gives the names without importing any model, `model_class(name)` the
class (its `options_spec` drives the questions), `load_predictor(...)` a dst->src face predictor
from a trained model folder. Import-light: the model modules (and the engines) load on first use.
"""

from __future__ import annotations


def model_entries():
    """The discovered models, in DeepFaceLab's order (app.registry.Entry)."""
    from app.registry import discover
    return discover(__name__, "MODEL")


def model_names() -> tuple[str, ...]:
    """Every model's name (H64, H128, DF, LIAEF128, SAE, plus any new model file)."""
    return tuple(e.name for e in model_entries())


def canonical_name(name: str) -> str | None:
    """`name` as the model declares it (case-insensitive match), or None if there is none."""
    from app.registry import by_name
    entry = by_name(model_entries(), name)
    return entry.name if entry else None


def model_class(name: str):
    """The class of model `name` (case-insensitive); UserError listing the models otherwise."""
    from app.errors import UserError
    from app.registry import by_name

    entry = by_name(model_entries(), name)
    if entry is None:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(model_names())}")
    return getattr(entry.load(), entry.info.get("class", entry.name))


def load_predictor(model_dir, model_name: str, engine: str = "torch", device=None,
                   merge_options: dict | None = None):
    """A trained model as a predictor for merge (see app.models.predictor.Predictor)."""
    from app.models.predictor import Predictor
    return Predictor.load(model_dir, model_name, engine=engine, device=device,
                          merge_options=merge_options)


def __getattr__(attr: str):
    if attr == "MODELS":  # the old constant, computed from the files
        return model_names()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


__all__ = ["model_names", "model_entries", "canonical_name", "model_class", "load_predictor"]
