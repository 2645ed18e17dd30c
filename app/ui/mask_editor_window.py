"""The OpenCV window of the mask editor: draws `MaskEditorState` and feeds it events.

Each face is shown with its mask (the learned mask `mask apply` stored, else the landmark hull,
with the polygons applied) as a tint, include
polygons in green and exclude polygons in red. Saving rewrites only the metadata of the face file
(`update_meta`, atomic), never its pixels. W / E move a face to the `aligned_skipped` /
`aligned_confirmed` folder beside the face set (`Workspace.aligned_skipped_dir`, DeepFaceLab's
5.4 launcher's folders); going back over it brings it back.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import shutil

import numpy as np

from app.errors import UserError
from app.faceset.face_file import FaceFileError, list_faces, read_face, read_meta, update_meta
from app.faceset.face_masks import aligned_face_mask
from app.ui.mask_editor_state import MaskEditorState
from app.ui.display import open_window

WINDOW = "Mask editor"
VIEW_SIZE = 512  # a face is shown this many pixels wide at zoom 1
COLORS = {"include": (0, 255, 0), "exclude": (0, 0, 255)}


def draw(face: np.ndarray, meta, view: dict, name: str) -> tuple[np.ndarray, float]:
    """The window image and the scale from face pixels to window pixels."""
    import cv2

    polys = view["polys"]
    closed = [p for p in polys if p.closed and len(p.points) >= 3]
    shown = replace(meta, mask_polygons=[p.points for p in closed],
                    mask_polygon_modes=[p.mode for p in closed])
    mask = aligned_face_mask(shown, face.shape[:2])  # the learned mask where one was applied
    tinted = face.astype(np.float32)
    tinted[mask < 0.5] *= 0.35  # what the mask leaves out is dark
    scale = VIEW_SIZE / face.shape[1] * view["zoom"]
    img = cv2.resize(tinted.astype(np.uint8), None, fx=scale, fy=scale,
                     interpolation=cv2.INTER_LINEAR)
    for p in polys:
        pts = np.round(np.asarray(p.points, np.float64) * scale).astype(np.int32)
        cv2.polylines(img, [pts], p.closed, COLORS[p.mode], 1, cv2.LINE_AA)
        for pt in pts:
            cv2.circle(img, tuple(int(v) for v in pt), 2, COLORS[p.mode], -1)
        if not p.closed and len(pts):
            mouse = tuple(int(round(v * scale)) for v in view["mouse"])
            cv2.line(img, tuple(int(v) for v in pts[-1]), mouse, COLORS[p.mode], 1, cv2.LINE_AA)
    state = " [saved]" if view["saved"] and not view["dirty"] else (" *" if view["dirty"] else "")
    lines = [f"{view['index'] + 1}/{view['count']} {name}{state}  {len(closed)} polygons"]
    for k, line in enumerate(lines + list(view["help"])):
        y = 18 + 18 * k
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return img, scale


class FacePlaces:
    """Where each face of the set is now: the set's folder or one of the two DeepFaceLab folders
    beside it (`aligned_confirmed`, `aligned_skipped`)."""

    def __init__(self, paths: list[Path], folders: dict[str, Path]) -> None:
        self.names = [p.name for p in paths]
        self.folders = folders  # "" (the set), "confirmed", "skipped" -> folder

    def path(self, i: int) -> Path:
        """Face i's file wherever it is now (the set's folder when it is nowhere)."""
        for folder in self.folders.values():
            if (folder / self.names[i]).exists():
                return folder / self.names[i]
        return self.folders[""] / self.names[i]

    def move(self, i: int, place: str) -> None:
        target_dir = self.folders[place]
        source = self.path(i)
        if source.parent == target_dir or not source.exists():
            return
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / self.names[i]
        if target.exists():
            raise UserError(f"{target.name} is already in {target_dir}; move one of them away",
                            target)
        shutil.move(str(source), str(target))


def _loader(places: FacePlaces):
    def load(i: int) -> tuple[list, list]:
        try:
            meta = read_meta(places.path(i))
        except FaceFileError:
            return [], []
        return meta.mask_polygons, meta.mask_polygon_modes
    return load


def save_polygons(path: Path, polygons: list, modes: list) -> None:
    """Write the polygons into the face file's metadata (pixels untouched, atomic)."""
    meta = read_meta(path)
    update_meta(path, replace(meta, mask_polygons=polygons, mask_polygon_modes=modes))


def side_folders(folder: Path) -> dict[str, Path]:
    """The set and its DeepFaceLab neighbours: `aligned` -> `aligned_confirmed`,
    `aligned_skipped` (the names `Workspace.aligned_confirmed_dir` / `aligned_skipped_dir` give)."""
    folder = Path(folder)
    return {"": folder, "confirmed": folder.with_name(folder.name + "_confirmed"),
            "skipped": folder.with_name(folder.name + "_skipped")}


def run_mask_editor(folder: Path, folders: dict[str, Path] | None = None) -> str:
    """Open the editor over the aligned faces of `folder`; returns a summary line. `folders`
    maps "confirmed" / "skipped" to where E / W move faces (default: `side_folders`)."""
    import cv2

    paths = list_faces(folder) if Path(folder).is_dir() else []
    if not paths:
        raise UserError("no aligned faces to edit; run `python -m app extract dst` first", folder)
    open_window(WINDOW, "the mask editor needs a display (run it on a desktop, not over "
                        "ssh/headless)")
    places = FacePlaces(paths, {**side_folders(folder), **(folders or {}), "": Path(folder)})
    state = MaskEditorState(len(paths), _loader(places))
    scale_of = {"s": 1.0}
    buttons = {cv2.EVENT_LBUTTONDOWN: "include", cv2.EVENT_RBUTTONDOWN: "exclude"}

    def on_mouse(event, x, y, flags, _param):
        s = scale_of["s"]
        if event == cv2.EVENT_MOUSEMOVE:
            state.on_mouse_move(x / s, y / s)
        elif event in buttons:
            shift = flags & (cv2.EVENT_FLAG_SHIFTKEY | cv2.EVENT_FLAG_CTRLKEY)
            state.on_click(x / s, y / s, "exclude" if shift else buttons[event])
        elif event == cv2.EVENT_MBUTTONDOWN:
            state.on_close_polygon()
        elif event == cv2.EVENT_MOUSEWHEEL:
            state.on_wheel(cv2.getMouseWheelDelta(flags),
                           ctrl=bool(flags & cv2.EVENT_FLAG_CTRLKEY))
    cv2.setMouseCallback(WINDOW, on_mouse)
    saved, cache = 0, {}
    try:
        while not state.finished:
            i = state.index
            if i not in cache:
                cache.clear()
                cache[i] = _read(places.path(i))
            if cache[i] is None:  # unreadable face: step over it
                state.on_key(ord("x"))
                continue
            img, scale_of["s"] = draw(*cache[i], state.view(), places.names[i])
            cv2.imshow(WINDOW, img)
            key = cv2.waitKey(20)
            if key != -1:
                state.on_key(key & 0xFF)
            if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                state.on_key(27)
            saved += carry_out(places, state.take_actions())
    finally:
        saved += carry_out(places, state.take_actions())
        cv2.destroyWindow(WINDOW)
    moved = {k: sum(1 for i in range(len(paths)) if places.path(i).parent == places.folders[k])
             for k in ("confirmed", "skipped")}
    return (f"mask editor: {saved} faces saved of {len(paths)}; {moved['confirmed']} in "
            f"{places.folders['confirmed'].name}, {moved['skipped']} in "
            f"{places.folders['skipped'].name}")


def _read(path: Path):
    try:
        return read_face(path)
    except FaceFileError as exc:
        print(f"skipped {path.name}: {exc}")
        return None


def carry_out(places: FacePlaces, actions: list[tuple]) -> int:
    """Do the editor's saves and moves in order; returns how many faces were saved."""
    n = 0
    for action in actions:
        if action[0] == "save":
            _, index, polygons, modes = action
            save_polygons(places.path(index), polygons, modes)
            n += 1
        else:
            places.move(action[1], action[2])
    return n
