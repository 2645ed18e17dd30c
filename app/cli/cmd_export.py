"""`python -m app export MODEL --format dfm|onnx [--out FILE]`: the trained model's dst->src
path as an ONNX graph, for DeepFaceLive (`dfm`) or for ONNX Runtime / OpenVINO (`onnx`)."""

from __future__ import annotations

from app.models import model_names
from app.models.export import FORMATS


def register(sub) -> None:
    p = sub.add_parser("export", help="export a trained model as DFM (DeepFaceLive) or ONNX",
                       description="Write the trained model's dst->src path as an ONNX graph: "
                                   "dfm for DeepFaceLive (in_face:0 -> out_face_mask:0, "
                                   "out_celeb_face:0, out_celeb_face_mask:0), onnx for "
                                   "`merge --engine onnx|openvino --graph FILE`.")
    p.add_argument("model", help=f"model name ({', '.join(model_names())}; GPU prefix allowed)")
    p.add_argument("--format", choices=FORMATS, default="dfm")
    p.add_argument("--out", help="output file (default: model/<MODEL>.<format>)")
    p.add_argument("--model-dir", help="model folder (default: workspace/model)")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from app.models.export import export_model
    from app.workspace import Workspace

    mdir = Path(args.model_dir) if args.model_dir else Workspace.resolve(args.workspace).model_dir
    out = export_model(mdir, args.model, args.format, args.out)
    print(f"exported {args.model} as {args.format} -> {out}")
    if args.format == "dfm":
        print("DeepFaceLive: put it in its dfm_models folder; a model trained without a learned "
              "mask carries masks of ones there, so turn on the face merger's landmarks mask")
    return 0
