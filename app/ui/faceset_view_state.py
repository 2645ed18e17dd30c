"""Browsing a face set page by page and picking bad faces out, as a state machine.

DeepFaceLab users look through data_src/aligned after extraction and delete the misdetections,
blurred and cut-off faces before training. The viewer shows a grid of faces; a click marks or
unmarks a face, `d` moves the marked faces to aligned_trash, Space / arrow keys / the wheel page
through, `l` shows the landmarks, Esc or `q` ends (marked faces not yet moved stay where they are).
"""

from __future__ import annotations

from dataclasses import dataclass, field

KEY_ESC = 27
KEY_SPACE = 32
# cv2.waitKeyEx codes of the arrow keys differ per platform; `,`/`.` and the wheel work everywhere
NEXT_KEYS = {KEY_SPACE, ord("."), ord("n")}
PREV_KEYS = {ord(","), ord("b")}

HELP_LINES = [
    "Click: mark/unmark   D: move marked to aligned_trash   L: landmarks",
    "Space/./N or wheel: next page   ,/B: previous   Esc/Q: quit",
]


@dataclass
class FacesetViewState:
    count: int
    per_page: int
    page: int = 0
    marked: set = field(default_factory=set)
    landmarks: bool = False
    show_help: bool = True
    finished: bool = False
    #: index lists to move to the trash; the driver takes them with take_trash()
    to_trash: list = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    def visible(self) -> range:
        start = self.page * self.per_page
        return range(start, min(start + self.per_page, self.count))

    def on_click_cell(self, cell: int) -> None:
        index = self.page * self.per_page + cell
        if 0 <= cell < self.per_page and index < self.count:
            self.marked ^= {index}

    def on_wheel(self, delta: int) -> None:
        self._turn(-1 if delta > 0 else 1)

    def on_key(self, key: int) -> None:
        if self.finished or key < 0:
            return
        ch = chr(key).lower() if 0 < key < 256 else ""
        if key in NEXT_KEYS:
            self._turn(1)
        elif key in PREV_KEYS:
            self._turn(-1)
        elif ch == "d" and self.marked:
            self.to_trash.append(sorted(self.marked))
            self.count -= len(self.marked)
            self.marked = set()
            self.page = min(self.page, self.pages - 1)
        elif ch == "l":
            self.landmarks = not self.landmarks
        elif ch == "h":
            self.show_help = not self.show_help
        elif key == KEY_ESC or ch == "q":
            self.finished = True

    def take_trash(self) -> list[list[int]]:
        out, self.to_trash = self.to_trash, []
        return out

    def _turn(self, step: int) -> None:
        self.page = min(max(0, self.page + step), self.pages - 1)
