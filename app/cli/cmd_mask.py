"""`python -m app mask edit [dst|src]`: DeepFaceLab's mask editor (step 5), and
`python -m app mask train`: the obstruction-aware mask network for merge's FAN mask modes,
`python -m app mask apply|remove src|dst`: its masks written into (taken out of) the face files.

Draw include / exclude polygons over aligned faces to fix the landmark-hull mask where a hand,
hair or a microphone is in the way. Training and merging apply them (see docs/FACE_FILE_FORMAT.md),
and the mask network learns from them (faces with polygons count 4x).
"""

from __future__ import annotations

from app.faceset.face_types import FACE_TYPES
from backends import ENGINES


def register(sub) -> None:
    p = sub.add_parser("mask", help="5) mask editor: fix face masks with polygons",
                       description=__doc__)
    acts = p.add_subparsers(dest="mask_command", metavar="ACTION")
    acts.required = True
    edit = acts.add_parser("edit", help="open the mask editor window over an aligned face set")
    edit.add_argument("side", nargs="?", choices=("dst", "src"), default="dst",
                      help="the workspace's data_dst/aligned (default) or data_src/aligned")
    edit.add_argument("--dir", default=None,
                      help="edit the faces of this folder instead (E / W move faces to "
                           "DIR_confirmed / DIR_skipped beside it)")
    edit.set_defaults(run=run_edit)
    train = acts.add_parser("train", help="train the mask network (FAN mask modes) on the "
                                          "aligned src and dst faces")
    train.add_argument("--steps", type=int, default=2000,
                       help="training steps (default 2000: about 8 minutes on 2 CPU cores)")
    train.add_argument("--resolution", type=int, default=128,
                       help="face size the network works at, a multiple of 32 (default 128)")
    train.add_argument("--face-type", choices=FACE_TYPES, default=None,
                       help="default: the face type of the model in the model folder, else full")
    train.add_argument("--sides", default="src,dst",
                       help="which aligned face sets to learn from (default src,dst)")
    train.add_argument("--model-dir", help="where to store it (default: workspace/model)")
    train.add_argument("--engine", choices=ENGINES, default="torch",
                       help="torch (CUDA/ROCm/XPU/MPS/CPU) or opencl (any OpenCL device)")
    train.add_argument("--device", help="GPU idx, best or cpu (default: best; env "
                                        "FACESTUDIO_DEVICE)")
    train.set_defaults(run=run_train)
    for action, text in (("apply", "write the trained mask network's masks into the face files "
                                   "(training and the dst mask mode then use them)"),
                         ("remove", "take the applied masks out of the face files (back to "
                                    "the landmark hull)")):
        a = acts.add_parser(action, help=text)
        a.add_argument("side", choices=("dst", "src"), help="data_dst/aligned or data_src/aligned")
        a.add_argument("--dir", default=None, help="the faces of this folder instead")
        if action == "apply":
            a.add_argument("--model-dir", help="where the mask network is (default: "
                                               "workspace/model)")
        a.set_defaults(run=run_apply if action == "apply" else run_remove)


def run_edit(args) -> int:
    from pathlib import Path

    from app.ui.mask_editor_window import run_mask_editor
    from app.workspace import Workspace

    if args.dir:  # the DeepFaceLab folders beside it: <dir>_confirmed, <dir>_skipped
        print(run_mask_editor(Path(args.dir)))
        return 0
    ws = Workspace.resolve(args.workspace)
    print(run_mask_editor(ws.aligned_dir(args.side),
                          {"confirmed": ws.aligned_confirmed_dir(args.side),
                           "skipped": ws.aligned_skipped_dir(args.side)}))
    return 0


def run_train(args) -> int:
    from pathlib import Path

    from app.cli.ask import ask_one_device
    from app.errors import UserError
    from app.masknet.training import train_masknet
    from app.workspace import SIDES, Workspace

    ws = Workspace.resolve(args.workspace)
    model_dir = Path(args.model_dir) if args.model_dir else ws.model_dir
    sides = tuple(s.strip() for s in args.sides.split(",") if s.strip())
    if not sides or any(s not in SIDES for s in sides):
        raise UserError(f"--sides {args.sides!r}: use src, dst or src,dst")
    if args.steps < 1:
        raise UserError("--steps must be at least 1")
    face_type = args.face_type or _model_face_type(model_dir)
    engine, device = ask_one_device(args.device, args.engine)
    train_masknet(ws, model_dir, face_type, args.resolution, args.steps, sides, engine, device)
    print(f"saved the mask network ({face_type} face, {args.resolution} px) in {model_dir}")
    return 0


def _faces_dir(args):
    from pathlib import Path

    from app.workspace import Workspace

    return Path(args.dir) if args.dir else Workspace.resolve(args.workspace).aligned_dir(args.side)


def run_apply(args) -> int:
    from pathlib import Path

    from app.errors import UserError
    from app.masknet import net as masknet
    from app.masknet.apply import apply_masks
    from app.workspace import Workspace

    model_dir = Path(args.model_dir) if args.model_dir else \
        Workspace.resolve(args.workspace).model_dir
    folder = _faces_dir(args)
    net = masknet.load(model_dir)
    if net is None:
        raise UserError("no trained mask network here; train it first with "
                        "`python -m app mask train`", model_dir)
    report = apply_masks(folder, net)
    print("\n".join(report.lines("applied the mask network's masks to")))
    return 2 if report.failed else 0


def run_remove(args) -> int:
    from app.masknet.apply import remove_masks

    report = remove_masks(_faces_dir(args))
    print("\n".join(report.lines("removed the applied masks from")))
    return 2 if report.failed else 0


def _model_face_type(model_dir) -> str:
    """The face type of the first trained model in `model_dir` (from its options, without
    loading weights), else full."""
    from app.models.files import available_models
    from app.models import model_class
    from app.models.files import find_model_files

    for name in available_models(model_dir):
        try:
            cls = model_class(name)
            return str(cls(find_model_files(model_dir, cls.name).read_data()["options"]).face_type)
        except Exception:  # an unreadable model: the default face type still works
            continue
    return "full"
