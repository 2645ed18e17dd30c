"""Option descriptions: one table per model plus the trainer's general options.

The CLI turns each `Option` into a DeepFaceLab-style question (first run: all; later runs, after
"Press enter in 2 seconds to override some model settings.": only the overridable ones); the
trainer and models only read validated values. Keeping the table here means the questions, the
saved JSON and the validation can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from app.errors import UserError


#: Long forms accepted for DFL's one-letter answers (SAE face type h/f).
_ALIASES = {"half": "h", "full": "f"}


@dataclass(frozen=True)
class Option:
    key: str
    question: str
    default: Any                      # a value, or a function of the options chosen so far
    kind: str = "int"                 # int | float | bool | choice
    lo: float | None = None
    hi: float | None = None
    step: int = 1                     # ints must be a multiple of this (resolution: 16)
    choices: tuple[str, ...] = ()
    help: str = ""
    overridable: bool = False         # may change on a later run
    when: Callable[[dict], bool] | None = None   # asked only when this holds
    why_not: str = ""                 # when `when` fails: why, and what to do instead

    def default_for(self, chosen: dict) -> Any:
        return self.default(chosen) if callable(self.default) else self.default

    def applies(self, chosen: dict) -> bool:
        return self.when is None or self.when(chosen)

    def bounds(self) -> str:
        """`64..256`, `at least 0` or `at most 9`: the allowed range in words."""
        def num(x: float) -> str:
            return f"{x:g}" if self.kind == "float" else str(int(x))
        if self.lo is not None and self.hi is not None:
            return f"{num(self.lo)}..{num(self.hi)}"
        return f"(at least {num(self.lo)})" if self.lo is not None else f"(at most {num(self.hi)})"

    def check(self, value: Any, where: object = None) -> Any:
        """The value in its proper type, or a UserError saying what is allowed."""
        try:
            if self.kind == "bool":
                if isinstance(value, str):
                    from app.cli.ask import parse_bool
                    return parse_bool(value)
                return bool(value)
            if self.kind == "choice":
                value = _ALIASES.get(str(value).lower(), value) if str(value) not in self.choices \
                    else value
                if str(value) not in self.choices:
                    raise ValueError(f"choose one of {', '.join(self.choices)}")
                return str(value)
            if isinstance(value, bool):   # JSON true/false is no number
                raise ValueError("a number is needed")
            v = int(value) if self.kind == "int" else float(value)
            if self.kind == "int" and float(value) != v:
                raise ValueError("a whole number is needed")
            if not math.isfinite(v):      # nan passes every range check below
                raise ValueError("not a finite number")
        except (TypeError, ValueError, OverflowError) as e:
            raise UserError(f"option {self.key} = {value!r} is not valid ({e})", where) from None
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            raise UserError(f"option {self.key} = {v} is out of range {self.bounds()}", where)
        if self.kind == "int" and self.step > 1 and v % self.step:
            raise UserError(f"option {self.key} = {v} must be a multiple of {self.step}", where)
        return v


PIXEL_LOSS = Option(
    "pixel_loss", "Use pixel loss", False, "bool", overridable=True,
    help="Default DSSIM loss learns the structure of faces; switch to pixel loss (MSE) after "
         "about 15-25k iterations to enhance fine details (may cause colour jitter).")

LEARN_MASK = Option(
    "learn_mask", "Learn mask", True, "bool",
    help="A mask branch per decoder learns the face mask used by merge (DeepFaceLab's H64, "
         "H128, DF and LIAEF128 always have it). Off: about 40 % less work per step; merge then "
         "uses the dst landmarks' hull.")

#: The trainer's own questions (DeepFaceLab's ModelBase), asked before the model's.
GENERAL = (
    Option("write_preview_history", "Write preview history", False, "bool", overridable=True,
           help="Save a preview image every so often into model/<NAME>_history/."),
    Option("target_iter", "Target iteration", 0, "int", lo=0, overridable=True,
           help="Save and stop when this iteration is reached; 0 = unlimited."),
    Option("batch_size", "Batch size", None, "int", lo=1, hi=1024, overridable=True,
           help="Faces per side per step. Larger is better for quality and slower per step; "
                "lower it if you run out of memory."),
    Option("sort_by_yaw", "Feed faces to network sorted by yaw", False, "bool", overridable=True,
           help="Pairs each dst face with src faces of the same head pose; use it when src has "
                "far more faces than dst."),
    Option("learning_rate", "Learning rate", 5e-5, "float", lo=1e-6, hi=1e-2, overridable=True,
           help="Adam's step size. DeepFaceLab's 5e-05 is safe for long runs; short runs on a "
                "small face set (the demo) learn several times faster at 2e-04 to 5e-04."),
    Option("random_flip", "Flip faces randomly", True, "bool", overridable=True,
           help="Mirrored src faces give more poses; turn off when the face is asymmetric "
                "(a scar, a parting) and src has enough faces."),
    Option("src_scale_mod", "Src face scale modifier % ( -30...30 )", 0, "int", lo=-30, hi=30,
           overridable=True,
           help="Zooms src faces in (>0) or out (<0) in training, for src faces of another size."),
)

#: General options every model file stores (besides the model's own).
GENERAL_KEYS = tuple(o.key for o in GENERAL)


def resolve(spec: tuple[Option, ...], given: dict, where: object = None) -> dict:
    """Validate `given` against `spec`, filling defaults in order (defaults may depend on the
    values chosen before them). Unknown keys are an error naming them."""
    known = {o.key for o in spec}
    unknown = sorted(set(given) - known)
    if unknown:
        raise UserError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                        where)
    out: dict = {}
    for o in spec:
        if not o.applies(out):
            continue
        value = given.get(o.key)
        out[o.key] = o.default_for(out) if value is None else o.check(value, where)
    refuse_inapplicable(spec, out, given, where)
    return out


def refuse_inapplicable(spec: tuple[Option, ...], chosen: dict, given: dict | None,
                        where: object = None) -> None:
    """A value other than the default for an option that does not apply to the other choices
    (SAE vg: no multiscale decoder, its own residual blocks) is a UserError: ignoring it would
    silently train another network than the one asked for. The default value (n) is accepted."""
    for o in spec:
        value = (given or {}).get(o.key)
        if value is None or o.applies(chosen) or o.check(value, where) == o.default_for(chosen):
            continue
        raise UserError(f"option {o.key} = {value!r} is not available here: "
                        f"{o.why_not or 'it does not apply to the other options chosen'}", where)
