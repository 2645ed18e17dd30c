"""The merge settings a trained model starts from, read from its options file (no weights).

DeepFaceLab's models each gave their converter its defaults (`get_ConverterConfig`: the default
mode, SAE's border clip); `FaceModel.merge_defaults(options)` does the same here. The CLI reads
them before asking its questions, so the model's defaults are the questions' defaults.
"""

from __future__ import annotations

from pathlib import Path

from backends.errors import BackendError

FALLBACK = {"mode": "seamless", "clip_hborder_mask_per": 0.0}


def model_merge_defaults(model_dir: str | Path, model_name: str | None) -> dict:
    """`{"mode", "clip_hborder_mask_per"}` of the trained model (the fallback when there is
    none yet: the merge itself then says which model is missing)."""
    from app.models.files import available_models
    from app.models import model_class
    from app.models.files import find_model_files

    names = [model_name] if model_name else available_models(Path(model_dir))
    for name in names:
        try:
            prefix_free = str(name).split("_")[-1]
            cls = model_class(prefix_free)
            options = find_model_files(model_dir, cls.name).read_data()["options"]
        except (BackendError, OSError, KeyError, TypeError, ValueError):
            continue
        return {**FALLBACK, **cls.merge_defaults(dict(options))}
    return dict(FALLBACK)
