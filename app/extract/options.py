"""Extraction's choices, declared once (app.options.Option): the CLI's flags, DeepFaceLab's
questions and --help come from EXTRACT_OPTIONS (app/cli/option_table.py).

`side` ("src" or "dst") is known before the questions: src asks whether to write debug frames
(dst always writes them), dst asks about the manual fix. Light: read at start-up.
"""

from __future__ import annotations

from app.extract import detector_entries, detector_names
from app.faceset.face_types import FACE_TYPES
from app.options import Option

#: not a detector: the manual window, where you place every face
MANUAL = "manual"
MANUAL_HELP = "you place every face in a window"
FACE_TYPE_HELP = ("half: eyebrows to chin; midfull: a little wider than half; full: the whole "
                  "face (DeepFaceLab's default); whole: full plus the forehead (SAEHD's wf); "
                  "head: with hair and more margin. Training picks its own face type from these.")


def default_detector() -> str:
    """mt: DeepFaceLab 1.0's MT, in every build.

    Measured (bench/detect_recall.py, bench/RESULTS.md): on the shared clips mt and yunet find
    a face in every frame, as fast does, and both people of the two-person clip in 100% of its
    frames (fast: 9%); on 1080p frames the two are alike in speed (yunet ~25% faster on small
    ones). MT's five points see a ~50 degree head tilt that YuNet's miss, so the 68-point fit
    holds there and `--person` recognises the tilted woman of that clip in every test frame
    (yunet: none). And the default is then the same on every system and build.
    """
    return "mt"


def detector_choices() -> tuple[str, ...]:
    """Every detector file's name, then manual."""
    return (*detector_names(), MANUAL)


def detector_help() -> str:
    pairs = [(e.name, e.info.get("help", "")) for e in detector_entries()]
    return ". ".join(f"{n}: {t}" for n, t in pairs + [(MANUAL, MANUAL_HELP)] if t) + "."


EXTRACT_OPTIONS = (
    Option("detector", "Face detector", lambda chosen: default_detector(), "choice",
           choices=detector_choices, help=detector_help),
    Option("face_type", "Face type", "full", "choice", choices=FACE_TYPES, help=FACE_TYPE_HELP),
    Option("size", "Aligned face size", 256, "int", 64, 1024,
           help="pixels of the aligned face square",
           flag_help="aligned face size in pixels (default 256)"),
    Option("debug", "Write debug frames (aligned_debug)", False, "bool",
           when=lambda c: c.get("side") == "src",
           flag_help="also write aligned_debug frames for src (always written for dst)"),
    Option("manual_fix", "Manual fix (open the manual window for frames with no face)", False,
           "bool", when=lambda c: c.get("side") == "dst" and c.get("detector") != MANUAL,
           flag_help="dst: automatic, then the manual window for frames with no face"),
)
