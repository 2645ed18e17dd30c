"""The OpenCV window of manual extraction: draws `ManualState` and feeds it events.

All decisions live in `manual_state.ManualState` (tested without a display); this module only
loads frames, converts window coordinates, draws, and writes each accepted/skipped frame as soon
as it is decided (so closing the window early keeps the work done).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.extract.frames import BadFrame, read_frame
from app.frame_files import list_frames
from app.extract.pipeline import ExtractOptions, write_frame_faces
from app.ui.display import display_available, open_window
from app.ui.manual_state import Decision, ManualState

WINDOW = "Manual extraction"
MAX_VIEW = (1280, 800)
MIN_VIEW_WIDTH = 720  # small frames (GRID is 360x288) are shown larger so help text fits


def view_scale(w: int, h: int) -> float:
    """Display scale of a w x h frame: up to fill MIN_VIEW_WIDTH, down to fit MAX_VIEW."""
    return min(max(1.0, MIN_VIEW_WIDTH / w), MAX_VIEW[0] / w, MAX_VIEW[1] / h)


class FrameSource:
    """Frames read on demand (a few kept), with their sizes, as the state machine needs them."""

    def __init__(self, paths: list[Path]):
        self.paths = paths
        self._cache: OrderedDict[int, np.ndarray | None] = OrderedDict()
        self._sizes: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, i: int) -> np.ndarray | None:
        if i not in self._cache:
            try:
                self._cache[i] = read_frame(self.paths[i])
            except BadFrame as exc:
                print(f"bad frame {self.paths[i]}: {exc} (skipped)")
                self._cache[i] = None
            if len(self._cache) > 4:
                self._cache.popitem(last=False)
        return self._cache[i]

    def __getitem__(self, i: int) -> tuple[int, int]:  # (w, h): the state's frame_sizes
        if i not in self._sizes:
            img = self.image(i)
            self._sizes[i] = (640, 480) if img is None else (img.shape[1], img.shape[0])
        return self._sizes[i]


def make_fit(source: FrameSource):
    """fit(index, box, precise) for the state machine, on dlib's 68-point predictor."""
    import cv2

    from app.extract.detectors import Landmarker
    from app.extract.manual_fix import fit_precise

    landmarker = Landmarker()
    grays: dict[int, np.ndarray] = {}

    def fit(i, box, precise):
        img = source.image(i)
        if img is None:
            return None
        if i not in grays:
            grays.clear()
            grays[i] = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        return fit_precise(landmarker, grays[i], box, precise)
    return fit


def apply_decision(source: FrameSource, index: int, decision: Decision, opts: ExtractOptions,
                   aligned_dir: Path, debug_dir: Path | None) -> int:
    """Write one decided frame: its face (accepted) or no face (skipped); returns faces written."""
    from app.extract.faces import Found
    from app.extract.manual_fix import remove_faces

    path = source.paths[index]
    frame = source.image(index)
    if frame is None:
        return 0
    if decision.skipped:
        if opts.one_face:
            remove_faces(aligned_dir, path.name)
            write_frame_faces(path, frame, [], opts, aligned_dir, debug_dir)
        return 0
    found = Found(decision.box, np.asarray(decision.landmarks, np.float64))
    return write_frame_faces(path, frame, [found], opts, aligned_dir, debug_dir)


def draw(frame: np.ndarray | None, view: dict, name: str, scale: float) -> np.ndarray:
    """The window image: frame, rectangle, landmarks, status and help text."""
    import cv2

    from app.faceset.landmarks import draw_landmarks
    if frame is None:
        frame = np.zeros((480, 640, 3), np.uint8)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    img = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=interp) \
        if scale != 1 else frame.copy()
    b = view["box"]
    color = (0, 0, 255) if view["locked"] else (0, 255, 0)
    cv2.rectangle(img, (int(b.left * scale), int(b.top * scale)),
                  (int(b.right * scale), int(b.bottom * scale)), color, 1)
    if view["landmarks"] is not None:
        draw_landmarks(img, np.asarray(view["landmarks"]) * scale)
    decided = view["decided"]
    state = "" if decided is None else (" [skipped]" if decided.skipped else " [accepted]")
    status = (f"{view['index'] + 1}/{view['count']} {name}{state}"
              f"{'  LOCKED' if view['locked'] else ''}{'  PRECISION' if view['precise'] else ''}")
    lines = [status] + list(view["help"])
    for k, line in enumerate(lines):
        y = 18 + 18 * k
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return img


def run_manual_extraction(frames_dir: Path, aligned_dir: Path, debug_dir: Path | None,
                          opts: ExtractOptions, only: list[str] | None = None) -> str:
    """Open the window over the frames (or only the named ones); returns a summary line."""
    import cv2

    paths = list_frames(frames_dir)
    if only is not None:
        wanted = set(only)
        paths = [p for p in paths if p.name in wanted]
    if not paths:
        raise UserError("no frames to extract by hand", frames_dir)
    no_display = ("the manual extraction window needs a display (run it on a desktop, not over "
                  "ssh/headless); automatic extraction works without one")
    if not display_available():
        raise UserError(no_display)
    Path(aligned_dir).mkdir(parents=True, exist_ok=True)
    if debug_dir is not None:
        Path(debug_dir).mkdir(parents=True, exist_ok=True)
    from app.extract.pipeline import check_existing_faces
    check_existing_faces(Path(aligned_dir), opts)
    source = FrameSource(paths)
    state = ManualState(source, make_fit(source))
    if opts.pupils:  # load the iris net now, not at the first accepted face
        from app.extract.pupils import load
        load()
    open_window(WINDOW, no_display)
    scale_of = {"s": 1.0}

    def on_mouse(event, x, y, flags, _param):
        s = scale_of["s"]
        if event == cv2.EVENT_MOUSEMOVE:
            state.on_mouse_move(x / s, y / s)
        elif event == cv2.EVENT_LBUTTONDOWN:
            state.on_click()
        elif event in (cv2.EVENT_MOUSEWHEEL, cv2.EVENT_MOUSEHWHEEL):
            state.on_wheel(cv2.getMouseWheelDelta(flags))
    cv2.setMouseCallback(WINDOW, on_mouse)
    written = accepted = skipped = 0
    try:
        while not state.finished:
            w, h = source[state.index]
            scale_of["s"] = view_scale(w, h)
            cv2.imshow(WINDOW, draw(source.image(state.index), state.view(),
                                    source.paths[state.index].name, scale_of["s"]))
            key = cv2.waitKey(20)
            if key != -1:
                state.on_key(key & 0xFF)
            if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                state.finished = True
            for index, decision in state.take_pending():
                written += apply_decision(source, index, decision, opts, aligned_dir, debug_dir)
                skipped += decision.skipped
                accepted += not decision.skipped
    finally:
        for index, decision in state.take_pending():
            written += apply_decision(source, index, decision, opts, aligned_dir, debug_dir)
        cv2.destroyWindow(WINDOW)
    return (f"manual extraction: {accepted} frames accepted, {skipped} skipped, "
            f"{written} faces written, {len(paths) - len(state.decisions)} frames left as they were")
