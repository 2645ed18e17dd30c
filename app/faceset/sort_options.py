"""`faceset sort`'s choices, declared once (app.options.Option): the sort methods and the final
count. The CLI's --by / --final-count, the "Sort by" question and --help come from
SORT_OPTIONS; app.faceset.sort runs the methods. Light: read at start-up.
"""

from __future__ import annotations

from app.options import Option

METHODS = ("blur", "face-yaw", "face-pitch", "hist", "hist-dissim", "brightness", "hue", "black",
           "source", "one-face", "final", "identity")
FINAL_COUNT = 2000  # DeepFaceLab's "Target number of images? (default:2000)"

SORT_HELP = ("blur: sharpest first. face-yaw / face-pitch: head turn left to right / up to down. "
             "hist: similar faces next to each other. hist-dissim: most unlike the rest first. "
             "brightness, hue: by colour. black: fewest black (cut-off) pixels first. source: "
             "by source frame. one-face: faces of frames that gave more than one face to "
             "aligned_trash. final: a varied subset (sharp, spread over yaw), rest to "
             "aligned_trash. identity: the set's main person first, faces of other people "
             "grouped at the end (--trash-others moves them to aligned_trash).")

SORT_OPTIONS = (
    Option("by", "Sort by", "blur", "choice", choices=METHODS, help=SORT_HELP,
           flag_help="sort method"),
    Option("final_count", "Target number of images", FINAL_COUNT, "int", lo=1,
           when=lambda c: c.get("by") == "final",
           flag_help=f"final: how many faces to keep (default {FINAL_COUNT})"),
)
