"""`python -m app merge [MODEL]`: step 7, put the predicted face into every dst frame.

Asks DeepFaceLab 1.0's converter questions (each also a flag; headless runs take the defaults),
then runs app.merge. Heavy imports happen inside run() so start-up stays fast.
"""

from __future__ import annotations

import argparse

from app.cli.ask import ask_bool, ask_choice, ask_device_spec, ask_int
from app.cli.choices import Lazy, described, numbered
from app.merge.modes import MERGE_MODES
from app.merge.options import MASK_MODES, RAW_MODES
from app.models import model_names



def _colour_transfers():
    from app.merge.color import transfer_names
    return transfer_names()


def _mode_help() -> str:
    return described([(m.label, m.help) for m in MERGE_MODES.values()]) + "."


def _colour_help() -> str:
    from app.merge.color import TRANSFERS
    return (described([(t.name, t.help) for t in TRANSFERS.values()]) +
            ". Moves the face's colours towards the dst face's.")


HELP_MASK = ("learned: the mask the model learned; dst: the dst face's landmark hull (shaky but "
             "exact); FAN-prd / FAN-dst: the obstruction-aware mask network (leaves out hands, "
             "microphones, hair) on the predicted / the dst face; the last two multiply masks. "
             "The network is trained on your faces the first time (about 8 minutes on CPU; "
             "`python -m app mask train` does it ahead).")
HELP_SR = ("Sharpens the predicted face x2 with a small network trained on your src faces "
           "(trained once, a few minutes on CPU, stored in the model folder).")
HELP_JITTER = ("Seamless clone makes the face's tint flicker slightly from frame to frame (the "
               "mask edge follows shaky landmarks). This solves the blend at 2x resolution and "
               "evens its level over the 2 frames before and after each frame; about 4x the "
               "image work of plain seamless.")


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
    p.add_argument("--mode", choices=MERGE_MODES.names())
    p.add_argument("--raw-mode", choices=RAW_MODES)
    b = argparse.BooleanOptionalAction
    p.add_argument("--suppress-seamless-jitter", action=b, default=None)
    p.add_argument("--seamless-hist-match", action=b, default=None)
    p.add_argument("--masked-hist-match", action=b, default=None)
    p.add_argument("--hist-match-threshold", type=int, metavar="0..255")
    p.add_argument("--mask-mode", choices=MASK_MODES)
    p.add_argument("--erode", type=int, metavar="-200..200", help="erode mask modifier")
    p.add_argument("--blur", type=int, metavar="0..200", help="blur mask modifier")
    p.add_argument("--face-scale", type=int, metavar="-50..50", help="output face scale, %%")
    p.add_argument("--color-transfer", choices=Lazy(_colour_transfers), metavar="NAME",
                   help="colour transfer: %(choices)s")
    p.add_argument("--super-resolution", action=b, default=None)
    p.add_argument("--superres-steps", type=int, default=3000,
                   help="training steps when the upscaler is trained (default 3000)")
    p.add_argument("--masknet-steps", type=int, default=2000,
                   help="training steps when the mask network is trained (default 2000)")
    p.add_argument("--degrade-color", type=int, metavar="0..100", help="degrade colour power")
    p.add_argument("--export-alpha", action=b, default=None,
                   help="PNG frames with an alpha channel (face only)")
    p.add_argument("--debug", action=b, default=None,
                   help="also write every stage to data_dst/merged_debug/")
    p.add_argument("--workers", type=int, default=2, help="image worker processes (default 2)")
    p.add_argument("--batch-size", type=int, default=8, help="faces per inference batch")
    p.add_argument("--inference-threads", type=int, default=None,
                   help="threads running the model side by side on a CPU (default: 2 on a "
                        "small CPU where torch runs single-threaded beside the workers, else 1)")
    p.add_argument("--overwrite", action="store_true", help="redo frames already merged")
    p.set_defaults(run=run)


def ask_options(args, defaults: dict | None = None):
    """DeepFaceLab's converter questions, in its order; flags answer them. `defaults`: the
    model's own (`app.merge.model_defaults`): the default mode and SAE's mask border clip."""
    from app.merge.options import MergeOptions

    defaults = defaults or {}
    o = MergeOptions(clip_hborder_mask_per=defaults.get("clip_hborder_mask_per"))
    o.debug = ask_bool("Debug mode (write every stage)?", False, given=args.debug)
    labels = [m.label for m in MERGE_MODES.values()]
    o.mode = ask_choice(f"Choose mode: {numbered(labels)}.", defaults.get("mode", "seamless"),
                        MERGE_MODES.names(),
                        _mode_help(), given=args.mode)
    if o.mode == "raw":
        o.raw_mode = ask_choice("Choose raw mode: (1) rgb, (2) rgb+mask, (3) mask only, "
                                "(4) predicted only", "rgb-mask", RAW_MODES, given=args.raw_mode)
    if o.mode == "seamless":
        o.suppress_seamless_jitter = ask_bool("Suppress seamless jitter?", False, HELP_JITTER,
                                              given=args.suppress_seamless_jitter)
        o.seamless_hist_match = ask_bool("Seamless hist match?", False,
                                         given=args.seamless_hist_match)
    if o.mode in ("hist-match", "hist-match-bw") or o.seamless_hist_match:
        o.masked_hist_match = ask_bool("Masked hist match?", True, given=args.masked_hist_match)
    if o.mode in ("hist-match", "hist-match-bw") or o.seamless_hist_match:
        o.hist_match_threshold = ask_int("Hist match threshold [0..255]", 255, 0, 255,
                                         given=args.hist_match_threshold)
    o.mask_mode = ask_choice("Mask mode: (1) learned, (2) dst, (3) FAN-prd, (4) FAN-dst, "
                             "(5) FAN-prd*FAN-dst, (6) learned*FAN-prd*FAN-dst", "learned",
                             MASK_MODES, HELP_MASK, given=args.mask_mode)
    if o.mode != "raw":
        o.erode_mask_modifier = ask_int("Choose erode mask modifier [-200..200]", 0, -200, 200,
                                        given=args.erode)
        o.blur_mask_modifier = ask_int("Choose blur mask modifier [0..200]", 0, 0, 200,
                                       given=args.blur)
    o.output_face_scale = ask_int("Choose output face scale modifier [-50..50]", 0, -50, 50,
                                  given=args.face_scale)
    transfers = _colour_transfers()
    o.color_transfer = ask_choice(f"Apply color transfer to predicted face? {numbered(transfers)}",
                                  "none", transfers, _colour_help(), given=args.color_transfer)
    o.super_resolution = ask_bool("Apply super resolution?", False, HELP_SR,
                                  given=args.super_resolution)
    if o.mode != "raw":
        o.color_degrade_power = ask_int("Degrade color power of final image [0..100]", 0, 0, 100,
                                        given=args.degrade_color)
        o.export_alpha = ask_bool("Export png with alpha channel?", False,
                                  given=args.export_alpha)
    return o.validate()


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
    listed = ", ".join(f"({i + 1}) {e}" for i, e in enumerate(have))
    return ask_choice(f"Merge engine: {listed}", engine_choice.default(), have, HELP_ENGINE)


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
    from backends.devices import choose

    spec = ask_device_spec(args.device, args.engine)
    choice = choose(spec, args.engine)
    dev = choice.devices[0]  # merge runs on one device ("all" takes the first)
    if not args.test_predictor:
        print(f"device: {dev.name} ({choice.reason})")
    return choice.engine, (dev.torch_device or None) if choice.engine == "torch" else dev.index


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
