"""The mask editor as a state machine fed mouse and key events (no window, no drawing).

DeepFaceLab's mask editor: on each aligned face the user draws polygons that fix the landmark-hull
mask, "include" (left button: hair, a beard the hull misses) and "exclude" (right button, or
Shift/Ctrl + left button on a one-button touchpad: a hand, a microphone in front of the face). The middle button or Enter closes the polygon being drawn; a
click of the other button closes it and starts one of the other kind. The wheel (and Backspace /
`r`) undoes and redoes, point by point. `c` saves the face and goes to the next, `x` goes to the
next without saving, `z` goes back, Esc ends (saving the current face's changes, so no drawn
work is lost). Coordinates are aligned-face pixels.

The window (`mask_editor_window.py`) only translates events and draws `view()`; what each event
does is decided here, so it is tested without a display.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

MODES = ("include", "exclude")
KEY_ENTER = (10, 13)
KEY_ESC = 27
KEY_BACKSPACE = 8

HELP_LINES = [
    "Left click: include point   Right/Shift+left: exclude",
    "Middle click/Enter: close polygon",
    "Wheel, Backspace/R: undo/redo   -/+: zoom   H: help",
    "C: save+next  X: next (discard)  Z: back  Esc: save+quit",
]

#: load(i) -> (polygons, modes) stored in face i
LoadFn = Callable[[int], tuple[list, list]]


@dataclass
class Polygon:
    mode: str
    points: list = field(default_factory=list)
    closed: bool = False


@dataclass
class MaskEditorState:
    count: int
    load: LoadFn
    index: int = 0
    polys: list = field(default_factory=list)
    history: list = field(default_factory=list)  # snapshots of `polys`; history[pos] is current
    pos: int = 0
    mouse: tuple = (0.0, 0.0)
    zoom: float = 1.0
    show_help: bool = True
    finished: bool = False
    saved: set = field(default_factory=set)
    #: (index, polygons, modes) to write; the driver takes them with take_saves()
    to_save: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("no faces to edit")
        self._enter(self.index)

    # ---------------------------------------------------------------- events
    def on_mouse_move(self, x: float, y: float) -> None:
        self.mouse = (float(x), float(y))

    def on_click(self, x: float, y: float, mode: str) -> None:
        """A point of an `mode` polygon at (x, y); a new polygon when the kind changes."""
        if self.finished or mode not in MODES:
            return
        cur = self._open()
        if cur is None or cur.mode != mode:
            self._close_open()
            cur = Polygon(mode)
            self.polys.append(cur)
        cur.points.append((float(x), float(y)))
        self._record()

    def on_close_polygon(self) -> None:
        if self._open() is not None:
            self._close_open()
            self._record()

    def on_wheel(self, delta: int) -> None:
        """Wheel up redoes, wheel down undoes (one point or one closing per notch)."""
        if delta > 0:
            self.redo()
        elif delta < 0:
            self.undo()

    def on_key(self, key: int) -> None:
        if self.finished or key < 0:
            return
        ch = chr(key).lower() if 0 < key < 256 else ""
        if key in KEY_ENTER:
            self.on_close_polygon()
        elif key == KEY_BACKSPACE:
            self.undo()
        elif ch == "r":
            self.redo()
        elif ch == "c":
            self._save()
            self._go(self.index + 1, at_end_finish=True)
        elif ch == "x":
            self._go(self.index + 1, at_end_finish=True)
        elif ch == "z":
            self._go(self.index - 1)
        elif ch in "-_":
            self.zoom = max(0.5, self.zoom / 1.25)
        elif ch in "+=":
            self.zoom = min(8.0, self.zoom * 1.25)
        elif ch == "h":
            self.show_help = not self.show_help
        elif key == KEY_ESC:
            self._close_open()
            if self.dirty:
                self._save()
            self.finished = True

    def undo(self) -> None:
        if self.pos > 0:
            self.pos -= 1
            self.polys = copy.deepcopy(self.history[self.pos])

    def redo(self) -> None:
        if self.pos + 1 < len(self.history):
            self.pos += 1
            self.polys = copy.deepcopy(self.history[self.pos])

    # ---------------------------------------------------------------- queries
    @property
    def dirty(self) -> bool:
        """The face's polygons differ from what was loaded (or last saved)."""
        return self._closed_polys() != self._closed_of(self.history[0])

    def take_saves(self) -> list[tuple[int, list, list]]:
        out, self.to_save = self.to_save, []
        return out

    def view(self) -> dict:
        return {"index": self.index, "count": self.count, "polys": self.polys,
                "mouse": self.mouse, "zoom": self.zoom, "dirty": self.dirty,
                "saved": self.index in self.saved,
                "help": HELP_LINES if self.show_help else []}

    def result(self) -> tuple[list, list]:
        """(polygons, modes) of the closed polygons with at least 3 points."""
        polys = self._closed_polys()
        return [p for _, p in polys], [m for m, _ in polys]

    # ---------------------------------------------------------------- internals
    def _open(self) -> Polygon | None:
        return self.polys[-1] if self.polys and not self.polys[-1].closed else None

    def _close_open(self) -> None:
        cur = self._open()
        if cur is None:
            return
        if len(cur.points) < 3:
            self.polys.pop()  # a polygon needs 3 points; fewer was a slip
        else:
            cur.closed = True

    def _record(self) -> None:
        self.history = self.history[:self.pos + 1] + [copy.deepcopy(self.polys)]
        self.pos = len(self.history) - 1

    def _closed_polys(self) -> list[tuple[str, list]]:
        return self._closed_of(self.polys)

    @staticmethod
    def _closed_of(polys: list) -> list[tuple[str, list]]:
        return [(p.mode, [list(pt) for pt in p.points]) for p in polys
                if p.closed and len(p.points) >= 3]

    def _save(self) -> None:
        self._close_open()
        polys, modes = self.result()
        self.to_save.append((self.index, polys, modes))
        self.saved.add(self.index)
        self.history, self.pos = [copy.deepcopy(self.polys)], 0

    def _go(self, index: int, at_end_finish: bool = False) -> None:
        if index >= self.count:
            if at_end_finish:
                self.finished = True
            return
        self._enter(max(0, index))

    def _enter(self, index: int) -> None:
        self.index = index
        polygons, modes = self.load(index)
        self.polys = [Polygon(modes[k] if k < len(modes) else "include",
                              [tuple(map(float, pt)) for pt in poly], closed=True)
                      for k, poly in enumerate(polygons)]
        self.history, self.pos = [copy.deepcopy(self.polys)], 0
