"""`python -m app merge [MODEL]`: step 7, put the predicted face into every dst frame.

Asks DeepFaceLab 1.0's converter questions (each also a flag; headless runs take the defaults),
then runs app.merge. Heavy imports happen inside run() so start-up stays fast.
"""

from __future__ import annotations

from app.cli.ask import ask_choice, ask_one_device
from app.cli.choices import numbered
from app.cli.option_table import add_flags, ask_table, given_values
from app.merge.options import MERGE_OPTIONS
from app.options import refuse_inapplicable
from app.models import model_names


def register(sub) -> None:
    p = sub.add_parser("merge", help="7) merge the predicted face into the dst frames",
                       description="Merge the trained model's face into data_dst/ frames, "
                                   "writing data_dst/merged/ (labelled as altered media).")
    p.add_argument("model", nargs="?", help=f"model name ({', '.join(model_names())})")
    p.add_argument("--model-dir", help="model folder (default: workspace/model)")
    p.add_argument("--engine", default=None,
                   help="torch, opencl, onnx (ONNX Runtime) or openvino: those this build has "
                        "(default: the fastest measured, see README \"Engines\")")
    p.add_argument("--graph", metavar="FILE",
                   help="onnx/openvino: run this file from `python -m app export` instead of "
                        "exporting the model")
    p.add_argument("--device", help="GPU idx, best or cpu (default: best; env FACESTUDIO_DEVICE)")
    p.add_argument("--test-predictor", action="store_true",
                   help="no model: a colour-shifted dst face, to check settings and speed")
    p.add_argument("--superres-steps", type=int, default=3000,
                   help="training steps when the upscaler is trained (default 3000)")
    p.add_argument("--masknet-steps", type=int, default=2000,
                   help="training steps when the mask network is trained (default 2000)")
    p.add_argument("--workers", type=int, default=2, help="image worker processes (default 2)")
    p.add_argument("--batch-size", type=int, default=8, help="faces per inference batch")
    p.add_argument("--inference-threads", type=int, default=None,
                   help="threads running the model side by side on a CPU (default: 2 on a "
                        "small CPU where torch runs single-threaded beside the workers, else 1)")
    p.add_argument("--overwrite", action="store_true",
                   help="redo frames already merged (once the model has trained on, merge "
                        "redoes them anyway)")
    add_flags(p, MERGE_OPTIONS)  # --mode, --erode, ... : DeepFaceLab's converter questions
    p.set_defaults(run=run)


def ask_options(args, defaults: dict | None = None):
    """DeepFaceLab's converter questions (MERGE_OPTIONS), in its order; flags answer them.
    `defaults`: the model's own (`app.merge.model_defaults`): the default mode and SAE's mask
    border clip."""
    from app.merge.options import MergeOptions

    defaults = dict(defaults or {})
    clip = defaults.pop("clip_hborder_mask_per", None)
    given = given_values(args, MERGE_OPTIONS)
    context = {"morphing_model": "morph_value" in defaults}   # AMP's merge_defaults say so
    answers = ask_table(MERGE_OPTIONS, given, defaults, context)
    # a flag that does not apply to the answers (--morph for a model without a morph,
    # --sharpen in a raw mode) is refused, not ignored: the frames would not be what was asked
    refuse_inapplicable(MERGE_OPTIONS, {**context, **answers}, given, as_flags=True)
    return MergeOptions(**answers, clip_hborder_mask_per=clip)  # run_merge validates it


HELP_ENGINE = ("torch: the training engine; opencl: tinygrad on an OpenCL device; onnx: ONNX "
               "Runtime (CPU, DirectML, CUDA, ROCm by the installed package); openvino: Intel "
               "CPUs, GPUs and NPUs. onnx and openvino run the model exported once to "
               "model/NAME_merge.onnx.")


def ask_engine(given: str | None) -> str:
    """The engine question, offering what this build has; a flag naming another is an error."""
    from app.merge import engine_choice

    if given is not None:
        return engine_choice.check(given)
    have = engine_choice.available()
    if len(have) == 1:
        return have[0]
    return ask_choice(f"Merge engine: {numbered(have)}", engine_choice.default(), have,
                      HELP_ENGINE)


def choose_device(args) -> tuple[str, object]:
    """(engine, device) to run the model on: DeepFaceLab's "GPU idx" question where torch sees
    several GPUs, else the flag (or FACESTUDIO_DEVICE, or the best device). The graph engines
    take --device as a provider / OpenVINO device name (dml, cuda, GPU.1; best; cpu)."""
    if args.test_predictor:  # no model runs: no engine question
        args.engine = args.engine or "torch"
    args.engine = ask_engine(args.engine)
    if args.engine in ("onnx", "openvino"):
        import os
        env = os.environ.get("FACESTUDIO_DEVICE", "").strip()
        return args.engine, args.device or (env if env.lower() == "cpu" else None)
    if args.graph:
        from app.errors import UserError
        raise UserError("--graph runs with --engine onnx or openvino", args.graph)
    if args.test_predictor and args.device is None:
        return args.engine, None  # no model: nothing runs on a device
    return ask_one_device(args.device, args.engine, say=not args.test_predictor)


#: count flags and their least value: 0 faces per batch used to be a traceback, -1 merged
#: nothing and exited 0, negative training steps saved an untrained network
COUNTS = (("batch_size", 1), ("workers", 0), ("inference_threads", 1), ("superres_steps", 1),
          ("masknet_steps", 1))


def check_counts(args) -> None:
    from app.errors import UserError

    for key, least in COUNTS:
        value = getattr(args, key)
        if value is not None and value < least:
            raise UserError(f"--{key.replace('_', '-')} {value} is out of range: give "
                            f"{least} or more")


def run(args) -> int:
    from app.merge.runner import run_merge
    from app.workspace import Workspace

    ws = Workspace.resolve(args.workspace)
    check_counts(args)
    engine, device = choose_device(args)
    defaults = {}
    if not args.test_predictor:
        from pathlib import Path

        from app.merge.model_defaults import model_merge_defaults

        defaults = model_merge_defaults(Path(args.model_dir) if args.model_dir else ws.model_dir,
                                        args.model)
    opts = ask_options(args, defaults)
    stats = run_merge(ws, opts, model_name=args.model, model_dir=args.model_dir,
                      engine=engine, device=device, workers=args.workers,
                      batch_size=args.batch_size, overwrite=args.overwrite,
                      test_predictor=args.test_predictor, superres_steps=args.superres_steps,
                      masknet_steps=args.masknet_steps,
                      inference_threads=args.inference_threads, graph=args.graph)
    print(f"merged {stats.merged} frames ({stats.faces} faces), copied {stats.copied} without a "
          f"face, skipped {stats.skipped} already merged -> {ws.merged_dir}")
    return 0
