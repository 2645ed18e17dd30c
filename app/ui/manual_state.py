"""Manual face extraction as a state machine fed key and mouse events (no window, no drawing).

The OpenCV window (`manual_window.py`) only translates its events into these calls and draws
`ManualState.view()`; everything the keys and the mouse do is decided here, so it is tested
without a display. Coordinates are source-frame pixels.

Keys (DeepFaceLab's manual extractor): Enter accepts the face and goes to the next frame, Space
skips the frame (no face), `,` / `.` go to the previous / next frame without changing it, the
mouse wheel changes the rectangle size, a left click locks (and unlocks) the landmarks, `A`
toggles precision mode (landmarks averaged over several fits: steadier, slower), `H` hides the
help, Esc or `Q` ends (what was accepted is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from app.extract.detectors import Box

#: fit(frame_index, box, precise) -> 68x2 landmarks in frame pixels
FitFn = Callable[[int, Box, bool], np.ndarray]

KEY_ENTER = (10, 13)
KEY_SPACE = 32
KEY_ESC = 27
WHEEL_STEP = 1.1
MIN_HALF = 8.0

HELP_LINES = [
    "Mouse: move the rectangle over the face; wheel: rectangle size",
    "Click: lock/unlock landmarks   Enter: accept + next frame   Space: skip frame (no face)",
    ", / . : previous / next frame   A: precision mode   H: hide help   Esc/Q: finish",
]


@dataclass
class Decision:
    """What the user chose for a frame: a face (box + landmarks) or a skip (no face)."""

    box: Box | None = None
    landmarks: np.ndarray | None = None

    @property
    def skipped(self) -> bool:
        return self.landmarks is None


@dataclass
class ManualState:
    frame_sizes: list[tuple[int, int]]  # (w, h) per frame
    fit: FitFn
    index: int = 0
    cx: float = 0.0
    cy: float = 0.0
    half: float = 0.0
    locked: bool = False
    precise: bool = False
    show_help: bool = True
    finished: bool = False
    landmarks: np.ndarray | None = None
    decisions: dict[int, Decision] = field(default_factory=dict)
    #: decisions not yet written by the driver, in the order they were made
    pending: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.frame_sizes:
            raise ValueError("no frames to extract by hand")
        self._enter_frame()

    # ---------------------------------------------------------- events
    def on_mouse_move(self, x: float, y: float) -> None:
        if self.locked or self.finished:
            return
        self.cx, self.cy = float(x), float(y)
        self._refit()

    def on_wheel(self, delta: float) -> None:
        if self.locked or self.finished or delta == 0:
            return
        w, h = self.frame_sizes[self.index]
        factor = WHEEL_STEP if delta > 0 else 1 / WHEEL_STEP
        self.half = float(np.clip(self.half * factor, MIN_HALF, max(w, h)))
        self._refit()

    def on_click(self) -> None:
        if self.finished:
            return
        self.locked = not self.locked
        if not self.locked:
            self._refit()

    def on_key(self, key: int) -> None:
        """`key`: the code from cv2.waitKey (ASCII); unknown keys do nothing."""
        if self.finished or key < 0:
            return
        ch = chr(key).lower() if 0 < key < 256 else ""
        if key in KEY_ENTER:
            self._decide(Decision(self.box(), None if self.landmarks is None
                                  else self.landmarks.copy()))
        elif key == KEY_SPACE:
            self._decide(Decision())
        elif ch == ",":
            self._go(self.index - 1)
        elif ch == ".":
            self._go(self.index + 1)
        elif ch == "a":
            self.precise = not self.precise
            if not self.locked:  # locked landmarks stay as they are
                self._refit()
        elif ch == "h":
            self.show_help = not self.show_help
        elif key == KEY_ESC or ch == "q":
            self.finished = True

    # ---------------------------------------------------------- queries
    def box(self) -> Box:
        return Box(self.cx - self.half, self.cy - self.half, self.cx + self.half,
                   self.cy + self.half)

    def take_pending(self) -> list[tuple[int, Decision]]:
        """Decisions made since the last call (the driver writes them, then forgets them)."""
        out = [(i, self.decisions[i]) for i in self.pending]
        self.pending = []
        return out

    def view(self) -> dict:
        """Everything the window draws."""
        return {"index": self.index, "count": len(self.frame_sizes), "box": self.box(),
                "landmarks": self.landmarks, "locked": self.locked, "precise": self.precise,
                "help": HELP_LINES if self.show_help else [],
                "decided": self.decisions.get(self.index)}

    # ---------------------------------------------------------- internals
    def _decide(self, decision: Decision) -> None:
        self.decisions[self.index] = decision
        if self.index in self.pending:
            self.pending.remove(self.index)
        self.pending.append(self.index)
        if self.index + 1 >= len(self.frame_sizes):
            self.finished = True
        else:
            self._go(self.index + 1)

    def _go(self, index: int) -> None:
        index = int(np.clip(index, 0, len(self.frame_sizes) - 1))
        if index == self.index and self.landmarks is not None:
            return
        self.index = index
        self._enter_frame()

    def _enter_frame(self) -> None:
        """Start a frame where its earlier decision was, else centred; landmarks unlocked."""
        w, h = self.frame_sizes[self.index]
        earlier = self.decisions.get(self.index)
        self.locked = False
        if earlier is not None and earlier.box is not None and not earlier.skipped:
            b = earlier.box
            self.cx, self.cy = (b.left + b.right) / 2, (b.top + b.bottom) / 2
            self.half = (b.right - b.left) / 2
        elif self.half <= 0:
            self.cx, self.cy, self.half = w / 2, h / 2, min(w, h) / 4
        self._refit()

    def _refit(self) -> None:
        self.landmarks = self.fit(self.index, self.box(), self.precise)
