"""Frames folder -> aligned faces, in parallel over frames, resumable.

src: every face of every frame -> `aligned/<frame>_<i>.jpg`. dst: the largest face of each frame
-> `aligned/<frame>_0.jpg` (with a `person`, src and dst keep only that person's face, see
app/extract/person.py), landmarks smoothed over neighbouring frames, and a debug frame with
the face outline and landmarks in `aligned_debug/<frame>.jpg`.

Work is split into runs of consecutive frames; each worker process loads dlib's models once and
handles whole runs, so dst smoothing sees each frame's neighbours (a run also reads a couple of
context frames on each side, which it does not write). A frame is done when its `_0` face file
exists; faces of a frame are written last-index-first, each atomically, so an interrupted frame is
never taken as done and a re-run overwrites the same names instead of adding duplicates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.errors import UserError, working_on
from app.extract.frame_digest import frame_digest
from app.extract.person import Person
from app.fileio import remove_stale_temps

SMOOTH_RADIUS = 2
#: in a run of video frames, every Nth frame is searched at full scale (see detectors)
FULL_SEARCH_EVERY = 8


@dataclass
class ExtractOptions:
    side: str = "src"                 # "src": all faces; "dst": one face per frame + debug
    detector: str = "fast"            # "fast" | "accurate"
    face_type: str = "full"
    size: int = 256
    debug: bool = False               # debug frames for src too (always on for dst)
    workers: int = 0                  # 0: all cores
    jpeg_quality: int = 95
    smooth: bool = True               # dst only
    person: Person | None = None      # keep only this identity's face (one per frame)
    #: pupils from the iris net in each face file (app/extract/pupils.py); False leaves them
    #: out (bench/extract.py measures what they cost)
    pupils: bool = True

    @property
    def one_face(self) -> bool:
        return self.side == "dst" or self.person is not None

    @property
    def write_debug(self) -> bool:
        return self.debug or self.side == "dst"


@dataclass
class FrameResult:
    name: str
    faces: int = 0
    error: str | None = None
    others: int = 0       # faces found that were not the chosen person


@dataclass
class ExtractReport:
    frames: int = 0
    already_done: int = 0
    processed: int = 0
    faces: int = 0
    no_face: list[str] = field(default_factory=list)
    bad: list[tuple[str, str]] = field(default_factory=list)
    only_others: list[str] = field(default_factory=list)  # in no_face: only other people seen

    def summary(self) -> str:
        lines = [f"{self.frames} frames: {self.processed} processed, {self.already_done} already "
                 f"done; {self.faces} faces written; {len(self.no_face)} frames without a face; "
                 f"{len(self.bad)} bad files"]
        if self.only_others:
            lines.append(f"  {len(self.only_others)} of the frames without a face show only "
                         "other people than the one to keep")
        if self.no_face:
            shown = ", ".join(self.no_face[:10]) + (" ..." if len(self.no_face) > 10 else "")
            lines.append(f"  no face: {shown}")
        for name, why in self.bad:
            lines.append(f"  bad file: {name}: {why}")
        return "\n".join(lines)


def face_name(frame: Path | str, index: int) -> str:
    return f"{Path(frame).stem}_{index}.jpg"


def debug_name(frame: Path | str) -> str:
    return f"{Path(frame).stem}.jpg"


def pending_frames(frames: list[Path], aligned_dir: Path) -> list[int]:
    """Indices of frames not done yet (the resume rule).

    A frame is done when its `<stem>_0.jpg` exists, or, once the set was sorted (renamed), when
    a face's metadata names it as its source frame; and the faces' recorded fingerprint of
    their frame (files since source_digest: all) matches the frame there now. Faces of a frame
    that changed (a new video extracted over the old) are moved to `aligned_outdated/` and the
    frame is done again.
    """
    done, faces = faces_by_frame(aligned_dir)
    todo, outdated = [], []
    for i, f in enumerate(frames):
        recorded = {d for _, d in faces.get(f.stem, []) if d}
        if f.stem in done and recorded and recorded != {frame_digest(f)}:
            outdated += [p for p, _ in faces[f.stem]]
            done.discard(f.stem)
        if f.stem not in done:
            todo.append(i)
    if outdated:
        moved_to = set_aside(outdated, outdated_dir(aligned_dir))
        print(f"note: {len(outdated)} faces in {aligned_dir} came from other frames of the same "
              f"names (a new video?): moved to {moved_to}; extracting those frames again")
    return todo


def outdated_dir(aligned_dir: Path) -> Path:
    return Path(aligned_dir).parent / "aligned_outdated"


def faces_by_frame(aligned_dir: Path) -> tuple[set[str], dict[str, list[tuple[Path, str]]]]:
    """(stems of the frames done, {frame stem: [(face file, recorded frame digest)]})."""
    import re

    from app.faceset.face_file import FACE_EXTS, FaceFileError, read_meta

    done: set[str] = set()
    faces: dict[str, list[tuple[Path, str]]] = {}
    if not aligned_dir.is_dir():
        return done, faces
    for p in aligned_dir.iterdir():
        if p.suffix.lower() not in FACE_EXTS or p.name.startswith(".") or not p.is_file():
            continue
        m = re.fullmatch(r"(.+)_(\d+)\.jpg", p.name)
        try:
            meta = read_meta(p)
        except FaceFileError:
            meta = None
        if m and m.group(2) == "0":
            done.add(m.group(1))
        stem = Path(meta.source_filename).stem if meta else m.group(1) if m else None
        if stem is None:
            continue
        if not m:
            done.add(stem)   # a renamed (sorted) face: its metadata knows its frame
        faces.setdefault(stem, []).append((p, meta.source_digest if meta else ""))
    return done, faces


def set_aside(files: list[Path], folder: Path) -> Path:
    """Move `files` into `folder` (never overwriting one there): kept, but out of the set."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in files:
        target, n = folder / p.name, 1
        while target.exists():
            target, n = folder / f"{p.stem}.{n}{p.suffix}", n + 1
        os.replace(p, target)
    return folder


def make_runs(frames: list[Path], todo: list[int], run_len: int,
              context: int) -> list[tuple[list[Path], int, int]]:
    """Split pending frames into runs of consecutive frames with `context` neighbours each side.

    Returns (paths, n_before, n_after): the paths to read, of which the first n_before and the
    last n_after are context only.
    """
    runs = []
    i = 0
    while i < len(todo):
        j = i
        while j + 1 < len(todo) and todo[j + 1] == todo[j] + 1 and j + 1 - i < run_len:
            j += 1
        a, b = todo[i], todo[j]
        lo, hi = max(0, a - context), min(len(frames), b + 1 + context)
        runs.append((frames[lo:hi], a - lo, hi - b - 1))
        i = j + 1
    return runs


# ------------------------------------------------------------------ per-process worker state

_STATE: dict = {}


def _init_worker(opts: ExtractOptions, aligned_dir: str, debug_dir: str | None,
                 counter=None) -> None:
    """Load the models once per process (kept if the parent already loaded them before fork).

    `counter`: a shared multiprocessing Value counting finished frames (for the progress bar).
    """
    import cv2

    from app.child_processes import worker_dies_with_parent
    from app.extract.detectors import Landmarker, make_detector
    worker_dies_with_parent()
    cv2.setNumThreads(1)
    if _STATE.get("detector_name") != opts.detector:
        _STATE.update(detector=make_detector(opts.detector), detector_name=opts.detector)
    if "landmarker" not in _STATE:
        _STATE["landmarker"] = Landmarker()
    if opts.pupils:
        from app.extract.pupils import load
        load()
    _STATE.update(opts=opts, aligned_dir=Path(aligned_dir),
                  debug_dir=Path(debug_dir) if debug_dir else None)
    if counter is not None:
        _STATE["tick"] = lambda: _increment(counter)


def _increment(counter) -> None:
    with counter.get_lock():
        counter.value += 1


def _pool_init(*args) -> None:
    """Pool workers ignore Ctrl+C: the parent stops them and reports, no traceback per worker."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(*args)


def _find(frame: np.ndarray, hint: float | None = None,
          boxes: list | None = None) -> tuple[list, int]:
    """(faces to write, how many faces found belonged to other people than opts.person);
    `boxes`: the frame's faces when a batch already found them."""
    import cv2

    from app.extract.faces import Found
    from app.extract.person import nearest
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if boxes is None:
        boxes = _STATE["detector"].detect(frame, hint)
    boxes = sorted(boxes, key=lambda b: -b.area)  # _0 is the largest face
    person = _STATE["opts"].person
    if _STATE["opts"].one_face and person is None:
        boxes = boxes[:1]
    faces = [Found(b, _STATE["landmarker"].fit(gray, b)) for b in boxes]
    if person is None:
        return faces, 0
    return nearest(person, frame, faces)


def _process_run(run: tuple[list[Path], int, int]) -> list[FrameResult]:
    from app.extract.frames import BadFrame, read_frame
    from app.extract.smoothing import smooth_sequence

    paths, n_before, n_after = run
    opts: ExtractOptions = _STATE["opts"]
    frames: list[np.ndarray | None] = []
    found: list[list] = []
    others: list[int] = []
    results: list[FrameResult] = []
    hint = None  # smallest face width of the previous frame: search a smaller image
    batch = getattr(_STATE["detector"], "batch_frames", 1)
    ahead: dict[int, tuple[np.ndarray, list]] = {}
    for k, path in enumerate(paths):
        own = n_before <= k < len(paths) - n_after
        if k % FULL_SEARCH_EVERY == 0:
            hint = None  # a full search now and then finds faces smaller than the hint
        if batch > 1 and k % batch == 0:
            ahead = _detect_ahead(paths[k:k + batch], k)
        try:
            img, boxes = ahead.pop(k, None) or (read_frame(path), None)
            frames.append(img)
            faces, n_others = _find(img, hint, boxes)
            found.append(faces)
            others.append(n_others)
            widths = [f.box.right - f.box.left for f in faces]
            hint = min(widths) if widths else None
        except BadFrame as exc:
            frames.append(None)
            found.append([])
            others.append(0)
            if own:
                results.append(FrameResult(path.name, error=str(exc)))
    if opts.one_face and opts.smooth:
        seq = [f[0].landmarks if f else None for f in found]
        for f, lm in zip(found, smooth_sequence(seq, SMOOTH_RADIUS)):
            if f:
                f[0].landmarks = lm
    if opts.pupils:
        _add_pupils(frames[n_before:len(paths) - n_after], found[n_before:len(paths) - n_after])
    for k in range(n_before, len(paths) - n_after):
        if frames[k] is not None:
            results.append(_write_frame(paths[k], frames[k], found[k], others[k]))
        _STATE.get("tick", lambda: None)()
    return results


def _add_pupils(frames: list, found: list[list]) -> None:
    """Every face's pupils, placed by its (smoothed) landmarks: the faces of all these frames
    go through the iris net in batches (cheaper per face than one frame at a time)."""
    from app.extract.pupils import pupils_of
    faces = [(img, f) for img, fs in zip(frames, found) if img is not None for f in fs]
    for (_, f), pupils in zip(faces, pupils_of([(img, f.landmarks) for img, f in faces])):
        f.pupils = pupils


def _detect_ahead(paths: list[Path], first: int) -> dict[int, tuple[np.ndarray, list]]:
    """Read the next frames and find their faces in batches of one frame size (a detector with
    `batch_frames` > 1: MT on a GPU); {index in the run: (frame, boxes)}. A bad frame is left
    out: the run reads it again and reports it."""
    from app.extract.frames import BadFrame, read_frame
    by_shape: dict[tuple, list[tuple[int, np.ndarray]]] = {}
    for k, path in enumerate(paths, first):
        try:
            img = read_frame(path)
        except BadFrame:
            continue
        by_shape.setdefault(img.shape, []).append((k, img))
    out = {}
    for group in by_shape.values():
        found = _STATE["detector"].detect_many([img for _, img in group])
        out.update({k: (img, boxes) for (k, img), boxes in zip(group, found)})
    return out


def _write_frame(path: Path, frame: np.ndarray, faces: list, others: int = 0) -> FrameResult:
    n = write_frame_faces(path, frame, faces, _STATE["opts"], _STATE["aligned_dir"],
                          _STATE["debug_dir"])
    return FrameResult(path.name, faces=n, others=others)


def write_frame_faces(path: Path, frame: np.ndarray, faces: list, opts: ExtractOptions,
                      aligned_dir: Path, debug_dir: Path | None) -> int:
    """Write a frame's debug image (if wanted) and its aligned faces; returns the face count.

    Faces are written last index first and `_0` last, each atomically, so a frame whose `_0`
    exists is complete (the resume rule); faces left from an earlier run beyond the new count
    are removed. Faces without pupils get them here (the pipeline finds them for a whole run
    of frames at once, after smoothing the landmarks that place them). Used by the automatic
    pipeline and by the manual window.
    """
    import cv2

    from app.extract.faces import align_face, draw_debug
    from app.extract.pupils import locate_pupils_many
    from app.faceset.face_file import write_face
    from app.fileio import atomic_write_bytes

    todo = [f for f in faces if f.pupils is None] if opts.pupils else []
    for face, pupils in zip(todo, locate_pupils_many(frame, [f.landmarks for f in todo])):
        face.pupils = pupils

    if debug_dir is not None:
        dbg = draw_debug(frame, faces, opts.face_type, opts.size)
        ok, buf = cv2.imencode(".jpg", dbg, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if ok:
            atomic_write_bytes(Path(debug_dir) / debug_name(path), buf.tobytes())
    _remove_stale(Path(aligned_dir), path, len(faces))
    digest = frame_digest(path) if faces else ""
    for i in reversed(range(len(faces))):  # _0 last: its presence means the frame is complete
        img, meta = align_face(frame, faces[i], opts.face_type, opts.size, path.name)
        meta.source_digest = digest
        write_face(Path(aligned_dir) / face_name(path, i), img, meta, quality=opts.jpeg_quality)
    return len(faces)


def _remove_stale(aligned_dir: Path, frame: Path, keep: int) -> None:
    """Faces beyond `keep` left by an earlier, interrupted run with another detector."""
    i = keep
    while (aligned_dir / face_name(frame, i)).exists():
        (aligned_dir / face_name(frame, i)).unlink()
        i += 1


# ------------------------------------------------------------------ driver

def extract_folder(frames_dir: Path, aligned_dir: Path, debug_dir: Path | None,
                   opts: ExtractOptions, progress: bool = True,
                   only: list[str] | None = None) -> ExtractReport:
    """Extract faces from every pending frame of `frames_dir`; returns what happened.

    `only`: frame file names to (re)do, e.g. for the manual-fix modes. Raises UserError for a
    missing or empty folder; bad frames are reported and skipped.
    """
    from app.frame_files import list_frames

    frames_dir = Path(frames_dir)
    if not frames_dir.is_dir():
        raise UserError("frames folder not found; run `python -m app video extract` first",
                        frames_dir)
    frames = list_frames(frames_dir)
    if not frames:
        raise UserError("no frames (png/jpg) in this folder; run `python -m app video extract` "
                        "first", frames_dir)
    aligned_dir = Path(aligned_dir)
    aligned_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(aligned_dir)
    check_existing_faces(aligned_dir, opts)
    if opts.write_debug and debug_dir is not None:
        Path(debug_dir).mkdir(parents=True, exist_ok=True)
        remove_stale_temps(debug_dir)
    else:
        debug_dir = None
    if only is not None:
        wanted = set(only)
        todo = [i for i, f in enumerate(frames) if f.name in wanted]
    else:
        todo = pending_frames(frames, aligned_dir)
    report = ExtractReport(frames=len(frames), already_done=len(frames) - len(todo)
                           if only is None else 0)
    if not todo:
        return report
    workers = opts.workers or os.cpu_count() or 1
    workers = max(1, min(workers, len(todo)))
    context = SMOOTH_RADIUS if opts.one_face and opts.smooth else 0
    # long runs when smoothing: each run re-reads 2 x context neighbour frames
    run_len = (max(25, min(100, len(todo) // (workers * 2))) if context
               else max(4, min(50, len(todo) // (workers * 4))))
    runs = make_runs(frames, todo, run_len, context)
    init_args = (opts, str(aligned_dir), str(debug_dir) if debug_dir else None)
    for res in _run_all(runs, workers, init_args, len(todo), progress):
        working_on(frames_dir / res.name)
        report.processed += 1
        if res.error:
            report.bad.append((res.name, res.error))
            _say(f"bad frame {frames_dir / res.name}: {res.error} (skipped)", progress)
        elif res.faces == 0:
            report.no_face.append(res.name)
            if res.others:
                report.only_others.append(res.name)
        report.faces += res.faces
    report.no_face.sort()
    report.only_others.sort()
    return report


def check_existing_faces(aligned_dir: Path, opts: ExtractOptions) -> None:
    """Refuse to mix face types or sizes in one folder (a resumed run must match the first)."""
    from app.faceset.face_file import FaceFileError, list_faces, read_face

    for path in list_faces(aligned_dir)[:3]:
        try:
            img, meta = read_face(path)
        except FaceFileError:
            continue
        if meta.face_type != opts.face_type or img.shape[0] != opts.size:
            raise UserError(
                f"this folder already holds {meta.face_type} faces of {img.shape[0]} px "
                f"(e.g. {path.name}) but {opts.face_type} faces of {opts.size} px were asked "
                f"for; use --face-type {meta.face_type} --size {img.shape[0]} to resume, or "
                f"empty the folder to start again", aligned_dir)
        return


def _say(text: str, progress: bool) -> None:
    if progress:
        from tqdm import tqdm
        tqdm.write(text)
    else:
        print(text)


def _run_all(runs, workers: int, init_args, total: int, progress: bool):
    """Yield every FrameResult; the bar follows frames as workers finish them."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="frame", desc="extract", disable=not progress, smoothing=0.1)
    try:
        if workers == 1:
            _init_worker(*init_args)
            _STATE["tick"] = lambda: bar.update(1)
            for run in runs:
                yield from _process_run(run)
            return
        import multiprocessing as mp
        ctx = mp.get_context()
        counter = ctx.Value("i", 0)
        if ctx.get_start_method() == "fork":
            _init_worker(*init_args)  # load once here; the forked workers share the models
        with ctx.Pool(workers, _pool_init, (*init_args, counter)) as pool:
            results = pool.imap_unordered(_process_run, runs)
            while True:
                try:
                    batch = results.next(timeout=0.25)
                except mp.TimeoutError:
                    batch = []
                except StopIteration:
                    break
                bar.update(counter.value - bar.n)
                yield from batch
        bar.update(counter.value - bar.n)
    finally:
        _STATE.pop("tick", None)
        bar.close()
