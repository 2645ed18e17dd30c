"""The mask editor as a state machine fed mouse and key events (no window, no drawing).

DeepFaceLab 1.0's mask editor: on each aligned face the user draws polygons that fix the
landmark-hull mask, "include" (left button: hair, a beard the hull misses) and "exclude" (right
button, or Shift/Ctrl + left button on a one-button touchpad: a hand, a microphone in front of
the face). The middle button or Enter closes the polygon being drawn; a click of the other button
closes it and starts one of the other kind. The wheel undoes and redoes point by point, with Ctrl
to the start / end of the face's history (Backspace undoes too).

The keys are DeepFaceLab 1.0's program's (its window's help: "[z] - prev image. [x] - skip. [c] -
save."; its manual lists C and X the other way round, the program never did that):
C saves the face, X skips it, both leave it where it is; E saves it and moves it to
`aligned_confirmed`, W skips it and moves it to `aligned_skipped`; Q or Z goes back one face
(moving it back into the face set if it was moved); with Shift held each of these acts on 10
faces; R puts the last saved face's polygons on this one; - / + zoom; H hides the help; Esc quits
(saving the current face's closed polygons first, so no drawn work is lost).

Coordinates are aligned-face pixels. The state only decides; it hands the driver `actions`
("save", index, polygons, modes) and ("move", index, place) in order, place being "confirmed",
"skipped" or "" (back into the face set). The window (`mask_editor_window.py`) translates events,
draws `view()` and carries the actions out, so all of this is tested without a display.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

MODES = ("include", "exclude")
KEY_ENTER = (10, 13)
KEY_ESC = 27
KEY_BACKSPACE = 8
SHIFT_STEP = 10  # DeepFaceLab: holding Shift moves 10 faces at a time

#: key -> (save the face?, where it goes: "" stays in the set)
FORWARD_KEYS = {"c": (True, ""), "x": (False, ""), "e": (True, "confirmed"),
                "w": (False, "skipped")}
BACK_KEYS = ("q", "z")

HELP_LINES = [
    "Left click: include point   Right/Shift+left: exclude   Middle/Enter: close polygon",
    "Wheel: undo/redo point (+Ctrl: to start/end)   R: last saved polygons",
    "C: save  X: skip  E: save, to aligned_confirmed  W: skip, to aligned_skipped",
    "Q/Z: previous   Shift: 10 faces   -/+: zoom   H: help   Esc: quit",
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
    #: index -> "confirmed" / "skipped" for faces moved out of the set
    places: dict = field(default_factory=dict)
    #: the polygons of the last save, for R
    last_saved: list | None = None
    #: ("save", index, polygons, modes) / ("move", index, place), taken with take_actions()
    actions: list = field(default_factory=list)

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

    def on_wheel(self, delta: int, ctrl: bool = False) -> None:
        """Wheel up redoes, wheel down undoes, one point or closing per notch; with Ctrl all
        the way to the end / the start of the face's history."""
        if delta > 0:
            self.redo(to_end=ctrl)
        elif delta < 0:
            self.undo(to_start=ctrl)

    def on_key(self, key: int) -> None:
        """A key as OpenCV's waitKey gives it: Shift shows as an upper-case letter."""
        if self.finished or key < 0:
            return
        ch = chr(key) if 0 < key < 256 else ""
        times = SHIFT_STEP if ch.isupper() else 1
        ch = ch.lower()
        if key in KEY_ENTER:
            self.on_close_polygon()
        elif key == KEY_BACKSPACE:
            self.undo()
        elif ch in FORWARD_KEYS:
            save, place = FORWARD_KEYS[ch]
            for _ in range(times):
                if self.finished:
                    break
                self._forward(save, place)
        elif ch in BACK_KEYS:
            self._back(times)
        elif ch == "r":
            self._apply_last_saved()
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

    def undo(self, to_start: bool = False) -> None:
        if self.pos > 0:
            self.pos = 0 if to_start else self.pos - 1
            self.polys = copy.deepcopy(self.history[self.pos])

    def redo(self, to_end: bool = False) -> None:
        if self.pos + 1 < len(self.history):
            self.pos = len(self.history) - 1 if to_end else self.pos + 1
            self.polys = copy.deepcopy(self.history[self.pos])

    # ---------------------------------------------------------------- queries
    @property
    def dirty(self) -> bool:
        """The face's polygons differ from what was loaded (or last saved)."""
        return self._closed_polys() != self._closed_of(self.history[0])

    def take_actions(self) -> list[tuple]:
        out, self.actions = self.actions, []
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
    def _forward(self, save: bool, place: str) -> None:
        if save:
            self._save()
        if place:
            self.places[self.index] = place
            self.actions.append(("move", self.index, place))
        self._go(self.index + 1, at_end_finish=True)

    def _back(self, times: int) -> None:
        """DeepFaceLab's Q / Z: the previous face, brought back into the set if it was moved."""
        for _ in range(times):
            if self.index == 0:
                break
            self.index -= 1
            if self.places.pop(self.index, ""):
                self.actions.append(("move", self.index, ""))
        self._enter(self.index)

    def _apply_last_saved(self) -> None:
        if self.last_saved is not None:
            self.polys = copy.deepcopy(self.last_saved)
            self._record()

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
        self.actions.append(("save", self.index, polys, modes))
        self.saved.add(self.index)
        self.last_saved = copy.deepcopy(self.polys)
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
