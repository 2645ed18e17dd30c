"""Plug-ins found from files: a model is one module under app/models/, a detector one module under
app/extract/ (see docs/INTERFACES.md, "Adding a model, a detector, ...").

Each such module declares itself with a module-level dict literal, e.g.

    MODEL = {"name": "H64", "order": 10, "help": "half face, 64 px"}

The declaration is read from the module's source text without importing it (the module imports
numpy and the engines; the CLI only needs the names to build its parser, and start-up must stay
well under 0.1 s). Where there is no source (a frozen build), the module is imported instead.
`order` sorts the names (DeepFaceLab's order, for questions, --help and launchers).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    """One discovered plug-in: its declared name and the module that holds it."""

    name: str
    module: str
    order: float
    info: dict

    def load(self):
        """The module itself (imports its dependencies)."""
        return importlib.import_module(self.module)


def discover(package: str, constant: str, prefix: str = "") -> tuple[Entry, ...]:
    """Every module of `package` (whose name starts with `prefix`) that declares `constant`,
    sorted by (order, name). The package's own `__init__` is imported to find its folders, so it
    must stay light."""
    pkg = importlib.import_module(package)
    return _scan(package, tuple(str(p) for p in pkg.__path__), constant, prefix)


@lru_cache(maxsize=64)
def _scan(package: str, paths: tuple[str, ...], constant: str, prefix: str) -> tuple[Entry, ...]:
    entries = {}
    for mod in pkgutil.iter_modules(list(paths)):
        if mod.ispkg or not mod.name.startswith(prefix) or mod.name.startswith("_"):
            continue
        full = f"{package}.{mod.name}"
        info = _declaration(_source(mod, full), constant, full)
        if info is None:
            continue
        name = str(info["name"])
        if name.lower() in {n.lower() for n in entries}:
            raise RuntimeError(f"{full}: {constant} name {name!r} is declared twice")
        entries[name] = Entry(name, full, float(info.get("order", 1000)), info)
    return tuple(sorted(entries.values(), key=lambda e: (e.order, e.name)))


def _source(mod: pkgutil.ModuleInfo, full: str) -> str | None:
    finder_path = getattr(mod.module_finder, "path", None)
    if finder_path:
        path = Path(finder_path) / f"{mod.name}.py"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def _declaration(source: str | None, constant: str, full: str) -> dict | None:
    """The module's `constant = {...}` literal, read from its source (or by importing it)."""
    if source is None:  # no source file (frozen build): import the module
        value = getattr(importlib.import_module(full), constant, None)
        return dict(value) if isinstance(value, dict) else None
    match = re.search(rf"^{constant}\s*=\s*\{{", source, re.M)
    if match is None:
        return None
    lines = source[match.start():].splitlines()
    value = None
    for end in range(1, min(len(lines), 40) + 1):  # the shortest prefix that parses
        try:
            value = ast.literal_eval(ast.parse("\n".join(lines[:end])).body[0].value)
            break
        except SyntaxError:
            continue
    if not isinstance(value, dict) or "name" not in value:
        raise RuntimeError(f"{full}: {constant} must be a dict literal with a 'name'")
    return value


def by_name(entries: tuple[Entry, ...], name: str) -> Entry | None:
    """The entry called `name`, case-insensitively (DeepFaceLab accepted `sae` for SAE)."""
    low = str(name).lower()
    return next((e for e in entries if e.name.lower() == low), None)


@dataclass(frozen=True)
class Registered:
    """One function registered by name (a merge mode, a colour transfer) with its description."""

    name: str
    fn: object
    label: str
    help: str
    info: dict


class FunctionRegistry(dict):
    """name -> Registered, in registration order; `register(...)` is the decorator.

    Used where the functions live in one module (merge modes, colour transfers): adding one is
    one decorated function there, and every list, question and flag reads the names from here.
    """

    def register(self, name: str, *, label: str | None = None, help: str = "", **info):
        def decorate(fn):
            if name in self:
                raise RuntimeError(f"{name!r} is registered twice")
            self[name] = Registered(name, fn, label or name, help, info)
            return fn
        return decorate

    def names(self) -> tuple[str, ...]:
        return tuple(self)
