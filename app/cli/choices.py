"""Choice lists for argparse and the numbered DeepFaceLab questions, built from the registries.

`Lazy(load)` is a sequence computed on first use: argparse only looks inside `choices` when it
checks a value or prints that command's --help, so a list that lives beside heavy code (colour
transfers beside numpy, sort methods beside OpenCV) costs nothing at start-up. Give such an
argument a `metavar`, or argparse formats the choices when the argument is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable


class Lazy(Sequence):
    """The names `load()` returns, loaded on first use."""

    def __init__(self, load: Callable[[], Sequence[str]]):
        self._load = load
        self._items: tuple[str, ...] | None = None

    def _get(self) -> tuple[str, ...]:
        if self._items is None:
            self._items = tuple(self._load())
        return self._items

    def __getitem__(self, i):
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())

    def __contains__(self, value) -> bool:
        return value in self._get()

    def __iter__(self):
        return iter(self._get())


def numbered(labels: Sequence[str]) -> str:
    """DeepFaceLab's menu text: "(1) overlay, (2) hist match, ..."."""
    return ", ".join(f"({i}) {label}" for i, label in enumerate(labels, 1))


def described(pairs: Sequence[tuple[str, str]], sep: str = "; ") -> str:
    """"name: what it does; name: ..." for a `?` help text, skipping names without one."""
    return sep.join(f"{name}: {text}" for name, text in pairs if text)
