"""The one question helper every step uses, in DeepFaceLab's style.

A value given as a flag is used as is. Otherwise, when stdin is a terminal, the user is asked
`Question (default) ( ?:help skip:... ) : `; `?` prints the help text and asks again; an empty
answer takes the default. Without a terminal (scripts, CI, launchers run headless) the default is
taken silently, so every step also runs unattended.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Callable, Sequence, TypeVar

from app.options import parse_bool

T = TypeVar("T")

_FORCE_ENV = "FACESTUDIO_ASK"  # "1": ask even without a tty (tests), "0": never ask


def interactive() -> bool:
    """True when questions should be asked (a terminal, unless the environment says otherwise)."""
    forced = os.environ.get(_FORCE_ENV)
    if forced is not None:
        return forced == "1"
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _hint(help_text: str | None, skip: str | None) -> str:
    parts = []
    if help_text:
        parts.append("?:help")
    if skip:
        parts.append(f"skip:{skip}")
    return f" ( {' '.join(parts)} )" if parts else ""


def ask(
    question: str,
    default: T,
    parse: Callable[[str], T] = str,  # type: ignore[assignment]
    help_text: str | None = None,
    given: T | None = None,
    skip: str | None = None,
    valid: Callable[[T], bool] | None = None,
    input_fn: Callable[[str], str] = input,
) -> T:
    """Return `given` if set, else ask the user (or take `default` when not interactive).

    `parse` turns the typed text into a value and raises ValueError on bad text; `valid` may
    reject a parsed value. Bad answers are explained and asked again, never a traceback.
    """
    if given is not None:
        return given
    if not interactive():
        return default
    shown = "" if default is None else f" ({_format(default)})"
    prompt = f"{question}{shown}{_hint(help_text, skip)} : "
    while True:
        try:
            text = input_fn(prompt).strip()
        except EOFError:
            return default
        if text == "?" and help_text:
            print(help_text)
            continue
        if text == "":
            return default
        try:
            value = parse(text)
        except ValueError as exc:
            print(f"  not understood: {text!r} ({exc}); type ? for help")
            continue
        if valid is not None and not valid(value):
            print(f"  {text!r} is out of range; type ? for help")
            continue
        return value


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "y" if value else "n"
    return str(value)


def ask_bool(question: str, default: bool, help_text: str | None = None,
             given: bool | None = None, **kw) -> bool:
    return ask(question, default, parse_bool, help_text, given, **kw)


def ask_int(question: str, default: int | None, lo: int | None = None, hi: int | None = None,
            help_text: str | None = None, given: int | None = None, **kw) -> int | None:
    def ok(v: int) -> bool:
        return (lo is None or v >= lo) and (hi is None or v <= hi)
    _check_given(question, given, ok, lo, hi)
    return ask(question, default, int, help_text, given, valid=ok, **kw)


def ask_float(question: str, default: float | None, lo: float | None = None,
              hi: float | None = None, help_text: str | None = None,
              given: float | None = None, **kw) -> float | None:
    def ok(v: float) -> bool:
        return math.isfinite(v) and (lo is None or v >= lo) and (hi is None or v <= hi)
    _check_given(question, given, ok, lo, hi)
    return ask(question, default, number, help_text, given, valid=ok, **kw)


def number(text: str) -> float:
    """A finite float (argparse `type=` and typed answers): `nan` and `inf` pass every range
    check (a comparison with NaN is always false), so they are refused here, at the door."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _check_given(question: str, given, ok: Callable, lo, hi) -> None:
    """A flag value out of range is refused with one clear message (a typed answer is re-asked).

    Without this, e.g. `extract --size 0` silently wrote whole frames as "aligned" faces.
    """
    if given is None or ok(given):
        return
    from app.errors import UserError
    bounds = (f"from {lo} to {hi}" if lo is not None and hi is not None
              else f"of at least {lo}" if lo is not None else f"of at most {hi}")
    raise UserError(f"{question}: {given} is out of range; give a value {bounds}")


def ask_choice(question: str, default: str, choices: Sequence[str],
               help_text: str | None = None, given: str | None = None, **kw) -> str:
    """Choice by name or by 1-based number, as DeepFaceLab's numbered menus."""
    def parse(text: str) -> str:
        if text.isdigit() and 1 <= int(text) <= len(choices):
            return choices[int(text) - 1]
        if text in choices:
            return text
        raise ValueError("one of " + ", ".join(f"({i + 1}) {c}" for i, c in enumerate(choices)))
    return ask(question, default, parse, help_text, given, **kw)


def ask_device_spec(spec: str | None, engine: str, input_fn: Callable[[str], str] = input):
    """DeepFaceLab's "Which GPU idx to choose?" where torch sees several GPUs and neither a flag
    nor the environment chose; otherwise `spec` as given (None: the system's choice). A number
    is a GPU idx (not a menu position); `all` or a list such as 0,2 trains on several."""
    if spec is not None or engine != "torch" or not interactive():
        return spec
    from backends.devices import list_torch_gpus

    gpus = list_torch_gpus()
    if len(gpus) < 2:
        return spec
    for g in gpus:
        print(f"  {g.describe()}")
    idxs = [str(g.index) for g in gpus]

    def parse(text: str) -> str:
        text = text.strip().lower().replace(" ", "")
        parts = text.split(",")
        if text in ("best", "all", "cpu") or (all(p in idxs for p in parts)
                                              and len(set(parts)) == len(parts)):
            return text
        raise ValueError(f"a GPU idx ({', '.join(idxs)}), a list such as {idxs[0]},{idxs[1]}, "
                         "best, all or cpu")
    return ask("Which GPU idx to choose? (best: most memory; all or a list such as "
               f"{idxs[0]},{idxs[1]}: one training process each)", "best", parse,
               input_fn=input_fn)


def ask_one_device(spec: str | None, engine: str, say: bool = True) -> tuple[str, object]:
    """(engine, device) for a run on one device (merge, the mask network): the GPU idx question
    where it applies, else `spec` (or FACESTUDIO_DEVICE, or the best device); "all" takes the
    first. The device is a torch device string for torch, an OpenCL device index for opencl."""
    from backends.devices import choose

    choice = choose(ask_device_spec(spec, engine), engine)
    dev = choice.devices[0]
    if say:
        print(f"device: {dev.name} ({choice.reason})")
    return choice.engine, (dev.torch_device or None) if choice.engine == "torch" else dev.index
