"""`python -m app extract src|dst`: detect, landmark and align faces (steps 4 and 5).

src: every face of every frame of data_src -> data_src/aligned. dst: one face per frame of
data_dst -> data_dst/aligned plus data_dst/aligned_debug frames; manual modes for what the
detector missed. Asks DeepFaceLab's questions for whatever was not given as a flag.
"""

from __future__ import annotations

from app.workspace import SIDES

from app.cli.ask import number
from app.cli.option_table import add_flags, ask_option, ask_table, given_values
from app.extract.options import EXTRACT_OPTIONS, MANUAL, default_detector  # noqa: F401


def register(sub) -> None:
    p = sub.add_parser("extract", help="find, landmark and align faces from the frames (4, 5)",
                       description=__doc__)
    p.add_argument("side", choices=SIDES, help="which frames: data_src or data_dst")
    p.add_argument("--manual-fix-deleted-debug", action="store_true",
                   help="dst: re-extract by hand the frames whose aligned_debug image you deleted")
    p.add_argument("--workers", type=int, default=0, help="processes (default: all cores)")
    p.add_argument("--no-smooth", action="store_true", help="dst: no temporal landmark smoothing")
    p.add_argument("--jpeg-quality", type=int, default=95)
    p.add_argument("--person", metavar="FACE.jpg|first", default=None,
                   help="keep only this person's face in every frame: a photo or an aligned "
                        "face of them, or `first` for the largest face of the first frame with "
                        "one; frames where they are not found are listed like frames without "
                        "a face (src and dst)")
    p.add_argument("--person-threshold", type=number, default=None, metavar="D",
                   help="largest face-embedding distance still taken as the person (default "
                        "0.6, dlib's same-person threshold; lower is stricter)")
    p.add_argument("--frames", metavar="DIR", default=None,
                   help="read frames from DIR instead of the workspace's data_src/data_dst")
    add_flags(p, EXTRACT_OPTIONS)  # --detector, --face-type, --size, --debug, --manual-fix
    p.set_defaults(run=run)


def ask_detector(given: str | None) -> str:
    """The detector question: every detector file's name, then manual; the flag answers it."""
    return ask_option(_option("detector"), default_detector(), given)


def _option(key: str):
    return next(o for o in EXTRACT_OPTIONS if o.key == key)


def run(args) -> int:
    from app.workspace import Workspace

    ws = Workspace.resolve(args.workspace)
    side = args.side
    frames_dir = _frames_dir(args, ws, side)
    aligned = ws.aligned_in(frames_dir) if args.frames else ws.aligned_dir(side)
    debug_dir = ws.aligned_debug_in(frames_dir)
    if args.manual_fix_deleted_debug:
        if side != "dst":
            from app.errors import UserError
            raise UserError("--manual-fix-deleted-debug works on dst only")
        return _fix_deleted_debug(args, frames_dir, aligned, debug_dir)
    answers = ask_table(EXTRACT_OPTIONS, given_values(args, EXTRACT_OPTIONS),
                        context={"side": side})
    detector, face_type, size = answers["detector"], answers["face_type"], answers["size"]
    debug = side == "dst" or answers["debug"]
    manual_fix = answers.get("manual_fix", False)
    opts = _options(args, side, detector, face_type, size, debug)
    if args.person and detector != MANUAL:
        opts.person = _person(args, frames_dir, opts.detector)
    if detector == MANUAL:
        return _manual(frames_dir, aligned, debug_dir if debug else None, opts, None)
    from app.extract.pipeline import extract_folder
    report = extract_folder(frames_dir, aligned, debug_dir, opts)
    print(report.summary())
    if manual_fix and report.no_face:
        return _manual(frames_dir, aligned, debug_dir, opts, report.no_face)
    return 0


def _frames_dir(args, ws, side: str):
    from pathlib import Path
    return Path(args.frames).expanduser().resolve() if args.frames else ws.frames_dir(side)


def _options(args, side, detector, face_type, size, debug):
    from app.errors import UserError
    from app.extract.pipeline import ExtractOptions
    if not 1 <= args.jpeg_quality <= 100:
        raise UserError(f"--jpeg-quality {args.jpeg_quality} is out of range: use 1 to 100")
    if args.workers < 0:
        raise UserError("--workers must be 0 (all cores) or more")
    return ExtractOptions(side=side, detector=detector if detector != MANUAL else "fast",
                          face_type=face_type, size=size, debug=debug, workers=args.workers,
                          jpeg_quality=args.jpeg_quality, smooth=not args.no_smooth)


def _person(args, frames_dir, detector: str):
    """The identity to keep, found before any frame is processed (bad reference: UserError)."""
    from app.errors import UserError
    from app.extract.person import resolve_person
    if args.person_threshold is not None and not 0 < args.person_threshold < 2:
        raise UserError(f"--person-threshold {args.person_threshold} is out of range: use a "
                        "distance between 0 and 2 (default 0.6)")
    person, note = resolve_person(args.person, frames_dir, detector, args.person_threshold)
    print(note)
    return person


def _manual(frames_dir, aligned, debug_dir, opts, only) -> int:
    from app.ui.manual_window import run_manual_extraction
    result = run_manual_extraction(frames_dir, aligned, debug_dir, opts, only=only)
    print(result)
    return 0


def _fix_deleted_debug(args, frames_dir, aligned, debug_dir) -> int:
    from app.extract.manual_fix import frames_with_deleted_debug
    face_type = ask_option(_option("face_type"), "full", args.face_type)
    size = ask_option(_option("size"), 256, args.size)
    opts = _options(args, "dst", "fast", face_type, size, True)
    todo = frames_with_deleted_debug(frames_dir, aligned, debug_dir)
    if not todo:
        print("every dst frame still has its aligned_debug image: nothing to fix")
        return 0
    print(f"{len(todo)} frames to re-extract by hand")
    return _manual(frames_dir, aligned, debug_dir, opts, todo)
