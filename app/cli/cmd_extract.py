"""`python -m app extract src|dst`: detect, landmark and align faces (steps 4 and 5).

src: every face of every frame of data_src -> data_src/aligned. dst: one face per frame of
data_dst -> data_dst/aligned plus data_dst/aligned_debug frames; manual modes for what the
detector missed. Asks DeepFaceLab's questions for whatever was not given as a flag.
"""

from __future__ import annotations

from app.cli.ask import ask_bool, ask_choice, ask_int, number
from app.cli.choices import described
from app.extract import detector_entries, detector_names
from app.faceset.face_types import FACE_TYPES

#: not a detector: the manual window, where you place every face
MANUAL = "manual"
MANUAL_HELP = "you place every face in a window"
FACE_TYPE_HELP = ("half: eyebrows to chin; full: the whole face (DeepFaceLab's default); head: "
                  "with hair and more margin. Training picks its own face type from these.")


def register(sub) -> None:
    p = sub.add_parser("extract", help="find, landmark and align faces from the frames (4, 5)",
                       description=__doc__)
    p.add_argument("side", choices=("src", "dst"), help="which frames: data_src or data_dst")
    p.add_argument("--detector", choices=_detector_choices(), default=None,
                   help=_detector_help())
    p.add_argument("--face-type", choices=FACE_TYPES, default=None,
                   help=FACE_TYPE_HELP)
    p.add_argument("--size", type=int, default=None, help="aligned face size in pixels "
                   "(default 256)")
    p.add_argument("--debug", action="store_true", default=None,
                   help="also write aligned_debug frames for src (always written for dst)")
    p.add_argument("--manual-fix", action="store_true", default=None,
                   help="dst: automatic, then the manual window for frames with no face")
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
    p.set_defaults(run=run)


def ask_detector(given: str | None) -> str:
    """The detector question: every detector file's name, then manual; the flag answers it."""
    return ask_choice("Face detector", default_detector(), _detector_choices(),
                      _detector_help(), given=given)


def default_detector() -> str:
    """yunet where this install has it, else fast.

    Measured (bench/detect_recall.py, bench/RESULTS.md): on the shared clips yunet finds a face
    in every frame as fast does, but both people of the two-person clip in 100% of its frames
    (fast: 9%), at a higher frame rate than fast on the same host.
    """
    from app.extract.detector_yunet import available
    return "yunet" if available() else "fast"


def _detector_choices() -> tuple[str, ...]:
    return (*detector_names(), MANUAL)


def _detector_help() -> str:
    pairs = [(e.name, e.info.get("help", "")) for e in detector_entries()]
    return described(pairs + [(MANUAL, MANUAL_HELP)], sep=". ") + "."


def run(args) -> int:
    from app.workspace import Workspace

    ws = Workspace.resolve(args.workspace)
    side = args.side
    frames_dir = _frames_dir(args, ws, side)
    aligned = frames_dir / "aligned" if args.frames else ws.aligned_dir(side)
    debug_dir = (frames_dir / "aligned_debug" if args.frames or side == "src"
                 else ws.aligned_debug_dir)
    if args.manual_fix_deleted_debug:
        if side != "dst":
            from app.errors import UserError
            raise UserError("--manual-fix-deleted-debug works on dst only")
        return _fix_deleted_debug(args, frames_dir, aligned, debug_dir)
    detector = ask_detector(args.detector)
    face_type = ask_choice("Face type", "full", FACE_TYPES, FACE_TYPE_HELP,
                           given=args.face_type)
    size = ask_int("Aligned face size", 256, 64, 1024, "pixels of the aligned face square",
                   given=args.size)
    debug = side == "dst" or ask_bool("Write debug frames (aligned_debug)", False,
                                      given=args.debug)
    manual_fix = False
    if side == "dst" and detector != MANUAL:
        manual_fix = ask_bool("Manual fix (open the manual window for frames with no face)",
                              False, given=args.manual_fix)
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
    face_type = ask_choice("Face type", "full", FACE_TYPES, FACE_TYPE_HELP,
                           given=args.face_type)
    size = ask_int("Aligned face size", 256, 64, 1024, given=args.size)
    opts = _options(args, "dst", "fast", face_type, size, True)
    todo = frames_with_deleted_debug(frames_dir, aligned, debug_dir)
    if not todo:
        print("every dst frame still has its aligned_debug image: nothing to fix")
        return 0
    print(f"{len(todo)} frames to re-extract by hand")
    return _manual(frames_dir, aligned, debug_dir, opts, todo)
