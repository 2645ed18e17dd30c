"""Validation of a model's saved data file (`NAME_data.json`) before anything uses it.

The file is JSON a user can edit, copy or receive; a wrong type or value in it used to surface
as a traceback deep in the trainer or, worse, be accepted and written back (`"archi": "xyz"`,
`"iteration": -5`, `NaN` options). Options are checked with the same `Option` tables the
questions use (app/models/options.py), so what a question refuses a saved file cannot smuggle in.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from app.errors import UserError

#: a seed numpy's generators and torch both accept
SEED_MAX = 2 ** 32 - 1


def check_saved_data(data: dict, model_name: str, path: Path, restore: str) -> None:
    """Raise a UserError naming `path` and the bad key, and saying `restore` (what to do)."""
    from app.models import model_class
    from app.models.options import GENERAL

    def bad(key: str, why: str) -> UserError:
        return UserError(f"the saved {key} {why}; {restore}", path)

    if data.get("model") != model_name:
        raise UserError(f"this file belongs to a {data.get('model')} model, not {model_name}; "
                        f"train {data.get('model')} or use another model folder", path)
    for section, spec in (("options", model_class(model_name).options_spec), ("general", GENERAL)):
        values = data.get(section)
        if not isinstance(values, dict):
            raise bad(section, "are missing or not a JSON object")
        for o in spec:
            if o.key in values and values[o.key] is not None:
                try:
                    o.check(values[o.key])
                except UserError as e:   # names the key and what is allowed
                    raise UserError(f"saved {e}; {restore}", path) from None
    _whole(data, "iteration", 0, None, bad)
    _whole(data, "seed", 0, SEED_MAX, bad)
    history = data.get("loss_history", [])
    if not isinstance(history, list) or not all(_finite_row(r) for r in history):
        raise bad("loss_history", "is not a list of finite loss values")


def _whole(data: dict, key: str, lo: int, hi: int | None, bad) -> None:
    v = data.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        limit = f"{lo}..{hi}" if hi is not None else f"at least {lo}"
        raise bad(key, f"= {v!r} is not a whole number {limit}")


def _finite_row(row: Any) -> bool:
    return isinstance(row, list) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in row)
