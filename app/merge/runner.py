"""Step 7 end to end for a workspace: pick the predictor, (train and) load the upscaler, merge.

The CLI asks the questions; this module only does what the options say.
"""

from __future__ import annotations

from pathlib import Path

from app.errors import UserError
from app.merge.dst_inputs import check_faces_against_frames, dst_faces_by_frame, list_frames
from app.merge.engine import MergeStats, merge_frames
from app.merge.options import MergeOptions
from app.models.files import available_models
from app.progress import step_bar
from backends import share_cpu


def load_model(model_dir: Path, model_name: str | None, engine: str, device: str | None,
               test_predictor: bool = False, graph: str | Path | None = None,
               morph_value: float = 1.0):
    """The Predictor to merge with (the colour-shift stand-in when `test_predictor`); on the
    onnx / openvino engines the exported graph (or the `graph` file given). `morph_value`:
    AMP's morph factor; another value than 1.0 for a model without one is refused."""
    predictor = _load_model(model_dir, model_name, engine, device, test_predictor, graph,
                            morph_value)
    if morph_value != 1.0 and "morph_value" not in model_merge_defaults(predictor):
        raise UserError(f"morph factor {morph_value}: only a morphing model (AMP) has one, and "
                        f"{predictor.name} is not one; leave --morph out")
    if morph_value != 1.0 and not getattr(predictor, "takes_morph", True):
        raise UserError(f"morph factor {morph_value}: this graph has no morph input; export "
                        "the model again (python -m app export)", getattr(predictor, "path", None))
    if hasattr(predictor, "takes_morph"):
        predictor.morph_value = morph_value
    return predictor


def _load_model(model_dir: Path, model_name: str | None, engine: str, device: str | None,
                test_predictor: bool, graph: str | Path | None, morph_value: float):
    if test_predictor:
        from app.merge.predictors import ColorShiftPredictor
        return ColorShiftPredictor(128, "full")
    from app.merge import engine_choice
    engine_choice.check(engine)
    graph_engine = engine in ("onnx", "openvino")
    if not model_name and not (graph_engine and graph is not None):
        names = available_models(model_dir)
        if not names:
            raise UserError("no trained model found; train one first (python -m app train "
                            "MODEL)", model_dir)
        model_name = names[0]
    if graph_engine:
        from app.models.graph_predictor import load_graph_predictor
        predictor = load_graph_predictor(model_dir, model_name, engine, device, graph,
                                         parallel=True)
        print(f"device: {predictor.session.device} ({engine})")
        return predictor
    from app.models import load_predictor
    return load_predictor(model_dir, model_name, engine=engine, device=device,
                          merge_options={"morph_value": morph_value} if morph_value != 1.0
                          else None)


def model_merge_defaults(predictor) -> dict:
    """The model's merge defaults (FaceModel.merge_defaults); a graph predictor carries them in
    its file; {} for the model-free stand-in."""
    model = getattr(predictor, "model", None)
    if model is not None:
        return type(model).merge_defaults(model.options)
    return dict(getattr(predictor, "merge_defaults", {}))


def layer_engine(engine: str, device) -> tuple[str, object]:
    """The engine and device the layer-API helper networks (upscaler, mask network) run on:
    the merge's, or torch on the default device when the merge runs a graph engine (onnx,
    openvino: they run exported graphs, not the layer API)."""
    from backends import ENGINES

    return (engine, device) if engine in ENGINES else ("torch", None)


def load_upscaler(ws, model_dir: Path, out_size: int, steps: int, engine: str = "torch",
                  device=None):
    """The stored x2 upscaler, trained on data_src/aligned first if there is none (or its
    size does not fit this model), on the merge's engine and device (torch on the default
    device when the merge runs a graph engine)."""
    from app.merge import superres

    engine, device = layer_engine(engine, device)
    model = superres.load(model_dir, engine, device)
    if model is not None and int(model.info.get("size", out_size)) == out_size:
        return model
    with step_bar(steps, "training super resolution") as tick:
        model, report = superres.train_from_faceset(ws.aligned_dir("src"), model_dir, out_size,
                                                    steps, progress=tick, engine=engine,
                                                    device=device)
    print(f"super resolution on {report['faces']} held-out src faces: PSNR "
          f"{report['psnr_sr']:.2f} dB (bicubic {report['psnr_bicubic']:.2f} dB), SSIM "
          f"{report['ssim_sr']:.4f} (bicubic {report['ssim_bicubic']:.4f})")
    if not report["psnr_sr"] > report["psnr_bicubic"]:
        print("warning: the upscaler is not better than bicubic yet; delete model/superres_x2.* "
              f"and merge again with --superres-steps {max(3000, 2 * steps)}")
    return model


def load_masker(ws, model_dir: Path, opts: MergeOptions, predictor, steps: int,
                engine: str = "torch", device=None):
    """The FAN mask modes' masker: the stored mask network, trained first on data_src/aligned
    and data_dst/aligned (at the model's face type) if there is none, on the merge's engine and
    device (torch on the default device when the merge runs a graph engine). None for other
    modes."""
    from app.merge.fan_masks import FanMasker
    from app.merge.options import FAN_MASK_MODES
    from app.masknet import net as masknet
    from app.masknet.training import train_masknet

    if opts.mask_mode not in FAN_MASK_MODES:
        return None
    engine, device = layer_engine(engine, device)
    model = masknet.load(model_dir, engine, device)
    if model is None:
        print("the FAN mask modes need the mask network; training it once on your faces "
              "(python -m app mask train does this ahead, with more options)")
        model = train_masknet(ws, model_dir, face_type=predictor.face_type, steps=steps,
                              engine=engine, device=device)
    return FanMasker(model, opts.mask_mode, predictor.resolution, predictor.face_type,
                     learned_mask=getattr(predictor, "learned_mask", True) is not False)


def run_merge(ws, opts: MergeOptions, *, model_name: str | None = None,
              model_dir: str | Path | None = None, engine: str = "torch",
              device: str | None = None, workers: int = 2, batch_size: int = 8,
              overwrite: bool = False, test_predictor: bool = False,
              superres_steps: int = 3000, inference_threads: int | None = None,
              masknet_steps: int = 2000, graph: str | Path | None = None) -> MergeStats:
    """Merge every dst frame of workspace `ws` into ws.merged_dir (`inference_threads`: see
    app.merge.engine.default_inference_threads)."""
    from tqdm import tqdm

    opts.validate()  # the merge's one check of its options, for every caller (CLI and API)
    mdir = Path(model_dir) if model_dir else ws.model_dir
    frames = list_frames(ws.frames_dir("dst"))
    if not frames:
        raise UserError("no dst frames; run `python -m app video extract dst` first",
                        ws.frames_dir("dst"))
    faces = dst_faces_by_frame(ws.aligned_dir("dst"))
    if not faces:
        raise UserError("no aligned dst faces; run `python -m app extract dst` first",
                        ws.aligned_dir("dst"))
    check_faces_against_frames(faces, frames, ws.aligned_dir("dst"))
    predictor = load_model(mdir, model_name, engine, device, test_predictor, graph,
                           opts.morph_value)
    if opts.clip_hborder_mask_per is None:  # the model's own default, as DFL's converters had
        opts.clip_hborder_mask_per = float(model_merge_defaults(predictor).get(
            "clip_hborder_mask_per", 0.0))
    upscaler = None
    if opts.super_resolution:
        upscaler = load_upscaler(ws, mdir, 2 * predictor.resolution, superres_steps, engine,
                                 device)
    masker = load_masker(ws, mdir, opts, predictor, masknet_steps, engine, device)
    debug_dir = ws.merged_debug_dir if opts.debug else None
    with share_cpu(workers), tqdm(total=len(frames), desc="merging", unit="frame") as bar:
        return merge_frames(frames, faces, ws.merged_dir, predictor, opts, upscaler=upscaler,
                            workers=workers, batch_size=batch_size, overwrite=overwrite,
                            debug_dir=debug_dir, progress=bar.update,
                            inference_threads=inference_threads, masker=masker)
