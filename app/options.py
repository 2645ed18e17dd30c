"""Option tables: every choice a step offers, declared once.

A step (training and each model, merge, extract, ...) lists its choices as a tuple of `Option`s
(key, question, default, kind, range or choices, help, `when`, `overridable`). The CLI builds its
flags, its DeepFaceLab-style questions (numbered choice lists generated from the choices),
`--help` and validation from that table (app/cli/option_table.py); the algorithms only receive
the validated values that `resolve` returns. Keeping one table per step means the questions, the
saved settings and the validation can never disagree.

Light on purpose (imported at start-up to build the parser): no numpy, no engines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from app.errors import UserError


def parse_bool(text: str) -> bool:
    """y/n answers, as DeepFaceLab takes them."""
    t = text.strip().lower()
    if t in ("y", "yes", "1", "true"):
        return True
    if t in ("n", "no", "0", "false"):
        return False
    raise ValueError("answer y or n")


#: Long forms accepted for DFL's one-letter answers (SAE face type h/f).
_ALIASES = {"half": "h", "full": "f"}


@dataclass(frozen=True)
class Option:
    """One choice a step offers. `question` may hold `{choices}` (the numbered list, generated
    from `labels` or `choices`) and `{range}` (`lo..hi`); `choices`, `labels` and `help` may be
    functions returning them, for lists found at run time (merge modes, colour transfers)."""

    key: str
    question: str
    default: Any                      # a value, or a function of the options chosen so far
    kind: str = "int"                 # int | float | bool | choice | text
    lo: float | None = None
    hi: float | None = None
    step: int = 1                     # ints must be a multiple of this (resolution: 16)
    choices: Any = ()                 # tuple[str, ...], or a function returning one
    help: Any = ""                    # the `?` help text, or a function returning it
    overridable: bool = False         # may change on a later run
    when: Callable[[dict], bool] | None = None   # asked only when this holds
    why_not: str = ""                 # when `when` fails: why, and what to do instead
    flag: str = ""                    # the CLI flag (default: --key with dashes)
    labels: Any = ()                  # names shown in the numbered list (default: choices)
    flag_help: str = ""               # the one line of --help (default: the help text)
    parse: Any = None                 # kind "text": the typed text -> value (ValueError: bad)
    skip: str = ""                    # what an empty answer means where the default is None

    def default_for(self, chosen: dict) -> Any:
        return self.default(chosen) if callable(self.default) else self.default

    def applies(self, chosen: dict) -> bool:
        return self.when is None or self.when(chosen)

    def choice_names(self) -> tuple[str, ...]:
        return tuple(self.choices() if callable(self.choices) else self.choices)

    def choice_labels(self) -> tuple[str, ...]:
        labels = self.labels() if callable(self.labels) else self.labels
        return tuple(labels) or self.choice_names()

    def help_text(self) -> str:
        return str(self.help() if callable(self.help) else self.help)

    def range_text(self) -> str:
        """`lo..hi` as DeepFaceLab writes ranges in its questions."""
        return f"{_num(self.lo)}..{_num(self.hi)}"

    def bounds(self) -> str:
        """`64..256`, `at least 0` or `at most 9`: the allowed range in words."""
        def num(x: float) -> str:
            return f"{x:g}" if self.kind == "float" else str(int(x))
        if self.lo is not None and self.hi is not None:
            return f"{num(self.lo)}..{num(self.hi)}"
        return f"(at least {num(self.lo)})" if self.lo is not None else f"(at most {num(self.hi)})"

    def flag_name(self) -> str:
        return self.flag or "--" + self.key.replace("_", "-")

    def check(self, value: Any, where: object = None) -> Any:
        """The value in its proper type, or a UserError saying what is allowed."""
        try:
            if self.kind == "text":
                return self.parse(value) if isinstance(value, str) and self.parse else value
            if self.kind == "bool":
                if isinstance(value, str):
                    return parse_bool(value)
                return bool(value)
            if self.kind == "choice":
                choices = self.choice_names()
                value = _ALIASES.get(str(value).lower(), value) if str(value) not in choices \
                    else value
                if str(value) not in choices:
                    raise ValueError(f"choose one of {', '.join(choices)}")
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


def _num(x: float | None) -> str:
    return "" if x is None else str(int(x)) if float(x).is_integer() else str(x)


def defaults(spec: tuple[Option, ...]) -> dict:
    """Each option's plain default (for a settings dataclass declared from the table)."""
    return {o.key: o.default for o in spec if not callable(o.default)}


def resolve(spec: tuple[Option, ...], given: dict, where: object = None) -> dict:
    """Validate `given` against `spec`, filling defaults in order (defaults may depend on the
    values chosen before them). Unknown keys are an error naming them."""
    refuse_unknown(spec, given, where)
    out: dict = {}
    for o in spec:
        if not o.applies(out):
            continue
        value = given.get(o.key)
        out[o.key] = o.default_for(out) if value is None else o.check(value, where)
    refuse_inapplicable(spec, out, given, where)
    return out


def with_added(spec: tuple[Option, ...], saved: dict) -> dict:
    """`saved` (a model's stored options) with the overridable options added to `spec` after it
    was saved, at their defaults: a new option's default keeps a model as it was (e.g. SAE's
    eyes_mouth_prio, the trainer's ema_decay), and a later run may then override it."""
    out = dict(saved)
    for o in spec:
        if o.overridable and o.key not in out and o.applies(out):
            out[o.key] = o.default_for(out)
    return out


def refuse_unknown(spec: tuple[Option, ...], given: dict | None, where: object = None,
                   of: str = "") -> None:
    """A key of `given` that no option of `spec` has is a UserError naming it (and the known
    ones): the one check every entry point (CLI flags, a new model, a resumed one) makes."""
    known = {o.key for o in spec}
    unknown = sorted(set(given or {}) - known)
    if unknown:
        raise UserError(f"unknown option(s) {', '.join(unknown)}{f' for {of}' if of else ''}; "
                        f"known: {', '.join(sorted(known))}", where)


def refuse_inapplicable(spec: tuple[Option, ...], chosen: dict, given: dict | None,
                        where: object = None, as_flags: bool = False) -> None:
    """A value other than the default for an option that does not apply to the other choices
    (SAE vg: no multiscale decoder, its own residual blocks; a sharpen amount in a raw merge) is
    a UserError: ignoring it would silently make something other than what was asked for. The
    default value (n) is accepted. `as_flags`: name the option by its CLI flag."""
    for o in spec:
        value = (given or {}).get(o.key)
        if value is None or o.applies(chosen) or o.check(value, where) == o.default_for(chosen):
            continue
        name = f"{o.flag_name()} {value}" if as_flags else f"option {o.key} = {value!r}"
        raise UserError(f"{name} is not available here: "
                        f"{o.why_not or 'it does not apply to the other options chosen'}", where)
