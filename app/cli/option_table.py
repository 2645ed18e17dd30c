"""A step's option table (app.options.Option) as the CLI shows it: flags, questions, --help.

One mechanism for every step: `add_flags` adds a flag per option (bool: --x/--no-x; choice: the
names, checked by argparse; numbers: `lo..hi` as the metavar), `ask_option` asks one option as
DeepFaceLab did (numbered choice lists generated from the table, `?` prints its help), and
`ask_table` walks a table in order, asking what applies to the answers so far (`when`) and taking
a flag's value instead of asking. The step then validates the answers with `app.options.resolve`
(or its settings class) and its algorithms see validated values only.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.ask import ask, ask_bool, ask_choice, ask_float, ask_int, number
from app.cli.choices import Lazy, numbered
from app.options import Option


def question(o: Option) -> str:
    """The question text with its generated parts: `{choices}` -> "(1) a, (2) b", `{range}`."""
    text = o.question
    if "{choices}" in text:
        text = text.replace("{choices}", numbered(o.choice_labels()))
    return text.replace("{range}", o.range_text())


def add_flags(parser: argparse.ArgumentParser, spec: tuple[Option, ...]) -> None:
    """One flag per option, in table order; its value lands in `args.<key>` (None: not given).

    The flag's help is `flag_help`, else the help text, else the question. A help or choice
    function runs when the parser is built (keep it light, or give `flag_help`); a choice
    function's names are read only when argparse checks a value or prints --help."""
    for o in spec:
        kw: dict[str, Any] = {"dest": o.key, "default": None}
        text = (o.flag_help or o.help_text() or o.question.split("{")[0].rstrip(" :?[")
                ).replace("%", "%%")
        if o.kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif o.kind == "text":
            pass   # parsed by the option's `parse` when the step reads it (ask_option)
        elif o.kind == "choice" and callable(o.choices):
            kw["choices"], kw["metavar"] = Lazy(o.choice_names), "NAME"
            text += " (%(choices)s)"
        elif o.kind == "choice":
            kw["choices"] = o.choice_names()
        else:
            kw["type"] = int if o.kind == "int" else number
            if o.lo is not None and o.hi is not None:
                kw["metavar"] = o.range_text()
        parser.add_argument(o.flag_name(), help=text, **kw)


def ask_option(o: Option, default: Any, given: Any = None) -> Any:
    """One option as a question; a flag's value (`given`) answers it, checked the same way."""
    q, help_text = question(o), o.help_text() or None
    skip = o.skip or None
    if o.kind == "text":
        return ask(q, default, o.parse or str, help_text, _parsed_flag(o, given), skip=skip)
    if o.kind == "bool":
        return ask_bool(q, bool(default), help_text, given=given)
    if o.kind == "choice":
        return ask_choice(q, str(default), o.choice_names(), help_text, given=given)
    if o.kind == "float":
        return ask_float(q, default, o.lo, o.hi, help_text, given=given, skip=skip)
    if o.step > 1:
        def ok(v: int) -> bool:
            return (o.lo is None or v >= o.lo) and (o.hi is None or v <= o.hi) and v % o.step == 0
        return ask(q, default, int, help_text, given, valid=ok)
    return ask_int(q, default, o.lo, o.hi, help_text, given=given)


def _parsed_flag(o: Option, given: Any) -> Any:
    """A text flag's value through the parser its question uses; bad text is a UserError
    naming the flag."""
    if not isinstance(given, str) or o.parse is None:
        return given
    try:
        return o.parse(given)
    except ValueError as exc:
        from app.errors import UserError
        raise UserError(f"{o.flag_name()} {given!r}: {exc}") from None


def ask_table(spec: tuple[Option, ...], given: dict, defaults: dict | None = None,
              context: dict | None = None) -> dict:
    """Every option that applies, in table order: the flag's value if given, else asked (the
    default when not interactive), then checked by the table. `defaults` replaces table
    defaults (a model's own); `context`: what is known before the questions (extract's side),
    which `when` may read; it is not returned."""
    defaults, context = defaults or {}, context or {}
    out: dict = dict(context)
    for o in spec:
        if not o.applies(out):
            continue
        default = defaults.get(o.key, o.default_for(out))
        value = ask_option(o, default, given.get(o.key))
        out[o.key] = value if value is None else o.check(value)
    return {k: v for k, v in out.items() if k not in context}


def given_values(args: argparse.Namespace, spec: tuple[Option, ...]) -> dict:
    """The options given as flags (those left at None were not)."""
    return {o.key: getattr(args, o.key) for o in spec
            if getattr(args, o.key, None) is not None}
