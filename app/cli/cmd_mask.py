"""`python -m app mask edit [dst|src]`: DeepFaceLab's mask editor (step 5).

Draw include / exclude polygons over aligned faces to fix the landmark-hull mask where a hand,
hair or a microphone is in the way. Training and merging apply them (see docs/FACE_FILE_FORMAT.md).
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("mask", help="5) mask editor: fix face masks with polygons",
                       description=__doc__)
    acts = p.add_subparsers(dest="mask_command", metavar="ACTION")
    acts.required = True
    edit = acts.add_parser("edit", help="open the mask editor window over an aligned face set")
    edit.add_argument("side", nargs="?", choices=("dst", "src"), default="dst",
                      help="the workspace's data_dst/aligned (default) or data_src/aligned")
    edit.add_argument("--dir", default=None, help="edit the faces of this folder instead")
    edit.set_defaults(run=run_edit)


def run_edit(args) -> int:
    from pathlib import Path

    from app.ui.mask_editor_window import run_mask_editor
    from app.workspace import Workspace

    folder = Path(args.dir) if args.dir else Workspace.resolve(args.workspace).aligned_dir(args.side)
    print(run_mask_editor(folder))
    return 0
