"""`python -m app faceset info|sort|view|recover-names|debug|convert|import-dfl`: inspect and
organise aligned-face sets (step 4).

info prints a face file's embedded metadata (`--json`: one JSON object per line per file).
sort orders a face set DeepFaceLab's way by renaming files (metadata travels inside them).
view opens a window to page through a set and move bad faces to aligned_trash.
recover-names renames faces back to `<source frame>_<i>` from their metadata.
debug add|remove writes / removes `<face>_debug.jpg` landmark pictures beside each face.
convert --to jpg|png re-encodes the set, keeping the metadata.
import-dfl converts a folder of DeepFaceLab 1.0/2.0 aligned faces into FaceStudio face files
(image bytes kept; DFL's pickled metadata is read without ever running it).
"""

from __future__ import annotations

import sys

from app.cli.option_table import add_flags, ask_table, given_values
from app.faceset.sort_options import SORT_OPTIONS
from app.workspace import SIDES


def _set_args(parser, verb: str) -> None:
    parser.add_argument("side", nargs="?", choices=SIDES, default="src",
                        help="the workspace's data_src/aligned (default) or data_dst/aligned")
    parser.add_argument("--dir", default=None, help=f"{verb} this folder instead")


def register(sub) -> None:
    p = sub.add_parser("faceset", help="face set tools: info, sort, view, recover-names, debug, "
                                       "convert, import-dfl", description=__doc__)
    fs = p.add_subparsers(dest="faceset_command", metavar="ACTION")
    fs.required = True
    info = fs.add_parser("info", help="print the metadata of aligned face files")
    info.add_argument("files", nargs="+", metavar="FILE", help="face files or folders")
    info.add_argument("--json", action="store_true", help="one JSON object per line per file")
    info.set_defaults(run=run_info)
    srt = fs.add_parser("sort", help="sort a face set (renames files; metadata kept)")
    srt.add_argument("side", nargs="?", choices=SIDES, default=None,
                     help="the workspace's data_src/aligned or data_dst/aligned")
    srt.add_argument("--dir", default=None, help="sort this folder instead")
    add_flags(srt, SORT_OPTIONS)  # --by, --final-count
    srt.add_argument("--trash-others", action="store_true",
                     help="identity: move the faces of people other than the set's main person "
                          "to aligned_trash")
    srt.set_defaults(run=run_sort)
    view = fs.add_parser("view", help="browse a face set; mark bad faces and move them to "
                                      "aligned_trash")
    view.add_argument("side", nargs="?", choices=SIDES, default="src",
                      help="the workspace's data_src/aligned (default) or data_dst/aligned")
    view.add_argument("--dir", default=None, help="view this folder instead")
    view.set_defaults(run=run_view)
    rec = fs.add_parser("recover-names", help="rename faces back to <source frame>_<i> from "
                                              "their metadata")
    _set_args(rec, "rename")
    rec.set_defaults(run=run_recover_names)
    dbg = fs.add_parser("debug", help="add or remove <face>_debug.jpg landmark pictures")
    dbg.add_argument("action", choices=("add", "remove"))
    _set_args(dbg, "use")
    dbg.set_defaults(run=run_debug)
    conv = fs.add_parser("convert", help="re-encode a face set as jpg or png (metadata kept)")
    _set_args(conv, "convert")
    conv.add_argument("--to", choices=("jpg", "png"), required=True)
    conv.set_defaults(run=run_convert)
    imp = fs.add_parser("import-dfl", help="convert DeepFaceLab aligned faces (JPG/PNG) into "
                                           "FaceStudio face files; the source folder is left as "
                                           "it is")
    imp.add_argument("folder", metavar="DIR", help="a DeepFaceLab aligned folder")
    imp.add_argument("--to", default=None, metavar="DIR",
                     help="where to write the faces (default: DIR_facestudio beside DIR)")
    imp.set_defaults(run=run_import_dfl)
    p.set_defaults(run=run_info)


def run_info(args) -> int:
    import json
    from pathlib import Path

    from app.faceset.face_file import FaceFileError, list_faces, read_meta

    paths: list[Path] = []
    for name in getattr(args, "files", []):
        p = Path(name)
        paths.extend(list_faces(p) if p.is_dir() else [p])
    failed = 0
    for path in paths:
        try:
            meta = read_meta(path)
        except FaceFileError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({"file": str(path), **meta.to_dict()}))
        else:
            print(_describe(path, meta))
    return 2 if failed else 0


def _describe(path, meta) -> str:
    import numpy as np

    from app.faceset.landmarks import estimate_pitch_yaw
    lm = np.asarray(meta.source_landmarks)
    pitch, yaw = estimate_pitch_yaw(meta.landmarks_array())
    eyes = (lm[36:42].mean(0), lm[42:48].mean(0))
    rect = ", ".join(f"{v:.0f}" for v in meta.source_rect)
    return (f"{path}\n  face type {meta.face_type}, from {meta.source_filename} "
            f"({meta.source_size[0]}x{meta.source_size[1]}), rect [{rect}]\n"
            f"  eyes at ({eyes[0][0]:.1f}, {eyes[0][1]:.1f}) and ({eyes[1][0]:.1f}, "
            f"{eyes[1][1]:.1f}) in the source; pitch {pitch:+.2f}, yaw {yaw:+.2f}; "
            f"{len(meta.mask_polygons)} mask polygons")


def run_view(args) -> int:
    from pathlib import Path

    from app.ui.faceset_view_window import run_faceset_view
    from app.workspace import Workspace

    folder = Path(args.dir) if args.dir else Workspace.resolve(args.workspace).aligned_dir(args.side)
    print(run_faceset_view(folder))
    return 0


def run_sort(args) -> int:
    from pathlib import Path

    from app.workspace import Workspace

    if args.dir:
        folder = Path(args.dir)
    else:
        side = args.side or "src"
        folder = Workspace.resolve(args.workspace).aligned_dir(side)
    answers = ask_table(SORT_OPTIONS, given_values(args, SORT_OPTIONS))
    method, count = answers["by"], answers.get("final_count")
    from app.faceset.sort import sort_faceset
    print(sort_faceset(folder, method, final_count=count,
                       trash_others=bool(getattr(args, "trash_others", False))))
    return 0


def _folder(args):
    from pathlib import Path

    from app.workspace import Workspace

    return Path(args.dir) if args.dir else Workspace.resolve(args.workspace).aligned_dir(args.side)


def run_recover_names(args) -> int:
    from app.faceset.recover_names import recover_names

    print(recover_names(_folder(args)))
    return 0


def run_debug(args) -> int:
    from app.faceset.debug_images import add_debug_images, remove_debug_images

    action = add_debug_images if args.action == "add" else remove_debug_images
    print(action(_folder(args)))
    return 0


def run_convert(args) -> int:
    from app.faceset.convert import convert_faceset

    print(convert_faceset(_folder(args), args.to))
    return 0


def run_import_dfl(args) -> int:
    from app.faceset.dfl_import import import_dfl_folder

    report = import_dfl_folder(args.folder, args.to)
    for _path, reason in report.failed:
        print(f"error: {reason}", file=sys.stderr)
    print(report.summary())
    return 2 if report.failed else 0
