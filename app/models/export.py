"""A trained model's dst->src path as an ONNX graph: for DeepFaceLive (`dfm`) or our own merge
on ONNX Runtime / OpenVINO (`onnx`).

Both graphs take NHWC float32 BGR faces in 0..1 at the model's resolution (batch size free) and
carry our metadata (`facestudio.*` keys: model, resolution, face type, learned mask, the weights'
iteration, and `label`, the altered-media label, also the graph's doc string), which merge
checks before it runs a graph.

- `dfm`, as DeepFaceLive loads it (its modelhub/DFLive/DFMModel.py) and DeepFaceLab's SAEHD
  `export_dfm` writes it: input `in_face:0`; outputs in this order `out_face_mask:0` (dst's own
  learned mask of the dst face), `out_celeb_face:0` (the src-looking face), `out_celeb_face_mask:0`
  (its mask), NHWC. A model trained without a learned mask exports both masks as ones: masks
  multiply in DeepFaceLive's face merger, so ones change nothing and its landmark mask
  ("face_mask_lmrks") does the masking, as our merge uses the dst landmark hull then.
- `onnx`: input `in_face`, outputs `out_face`, `out_mask` (what `Predictor.predict` gives).
- A morphing model (AMP) has a second input, the morph value (float32 [1], 0..1): `morph_value:0`
  in a DFM, as DFL's AMP export and DeepFaceLive have it, `morph_value` in ONNX.

Exported with torch's TorchScript-based exporter (`torch.onnx.export(dynamo=False)`): the
dynamo exporter needs onnxscript, and the models' ops (conv, matmul, pixel shuffle, nearest
upsample, leaky relu) all have plain ONNX equivalents at opset 13, which DeepFaceLive's and
older ONNX Runtimes read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app import ALTERED_MEDIA_LABEL
from app.errors import UserError

FORMATS = ("dfm", "onnx")
OPSET = 13
META_PREFIX = "facestudio."
NAMES = {"dfm": (["in_face:0"], ["out_face_mask:0", "out_celeb_face:0", "out_celeb_face_mask:0"]),
         "onnx": (["in_face"], ["out_face", "out_mask"])}
#: a morphing model's (AMP's) second input, float32 [1]: DFL's AMP `export_dfm` names it so and
#: DeepFaceLive feeds its morph slider there
MORPH_INPUTS = {"dfm": "morph_value:0", "onnx": "morph_value"}


def input_names(fmt: str, morph: bool) -> list[str]:
    """The graph's inputs: the faces, and the morph value for a morphing model."""
    return NAMES[fmt][0] + ([MORPH_INPUTS[fmt]] if morph else [])


def channel_mask(value, channels: int):
    """[1, C, 1, 1] torch mask of the first int(C * value) channels: DFL's merge-time slice
    (app.models.amp.morph_slice) as graph ops (Range, Less, Floor), so the value can be an
    input."""
    import torch
    k = torch.floor(value.reshape(()) * channels)
    return (torch.arange(channels, dtype=value.dtype) < k).to(value.dtype).reshape(1, -1, 1, 1)


def graph_module(model: Any, params: dict, fmt: str):
    """A torch module running `model` with the engine's weights `params`, NHWC in and out."""
    import torch

    from backends.torch_engine import TorchOps

    ops = TorchOps(torch.device("cpu"))

    channels = model.morph_channels

    class Swap(torch.nn.Module):
        def forward(self, x, morph_value=None):
            nchw = x.permute(0, 3, 1, 2)
            kw = {} if morph_value is None else {"morph_mask": channel_mask(morph_value,
                                                                            channels)}
            face, mask, dst_mask = model.swap_with_dst_mask(ops, params, nchw, **kw)
            ones = torch.ones_like(face[:, :1])
            mask = ones if mask is None else mask
            dst_mask = ones if dst_mask is None else dst_mask
            outs = (dst_mask, face, mask) if fmt == "dfm" else (face, mask)
            return tuple(t.permute(0, 2, 3, 1) for t in outs)

    return Swap().eval()


def export_predictor(predictor: Any, out: str | Path, fmt: str = "onnx",
                     extra: dict[str, str] | None = None) -> Path:
    """Write `predictor`'s model (an app.models.predictor.Predictor on the torch engine) as an
    ONNX graph to `out`, atomically, with our metadata."""
    import torch

    from app.fileio import atomic_path

    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    out = Path(out)
    r = predictor.resolution
    params = {k: v.detach().float().contiguous() for k, v in predictor.engine.params.items()}
    module = graph_module(predictor.model, params, fmt)
    morph = predictor.model.morph_channels > 0
    inputs, outputs = input_names(fmt, morph), NAMES[fmt][1]
    example = (torch.rand(1, r, r, 3),) + ((torch.ones(1),) if morph else ())
    axes = {n: {0: "batch"} for n in NAMES[fmt][0] + outputs}
    with atomic_path(out) as tmp, torch.no_grad():
        torch.onnx.export(module, example, str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=inputs, output_names=outputs, dynamic_axes=axes)
        _add_metadata(Path(tmp), predictor, fmt, extra or {})
    return out


def _add_metadata(path: Path, predictor: Any, fmt: str, extra: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    meta = {"format": fmt, "model": predictor.name, "resolution": str(predictor.resolution),
            "face_type": predictor.face_type, "learned_mask": str(int(predictor.learned_mask)),
            "iteration": str(predictor.iteration),
            "merge_defaults": json.dumps(type(predictor.model).merge_defaults(
                predictor.model.options)), **extra}
    meta["label"] = ALTERED_MEDIA_LABEL         # what the graph makes is a replaced face
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = META_PREFIX + k, v
    proto.producer_name = "FaceStudio"
    proto.doc_string = ALTERED_MEDIA_LABEL
    onnx.save(proto, str(path))


def default_out(model_dir: Path, model_name: str, fmt: str) -> Path:
    """model/<NAME>.dfm or model/<NAME>.onnx"""
    return Path(model_dir) / f"{model_name}.{fmt}"


def export_model(model_dir: str | Path, model_name: str, fmt: str = "dfm",
                 out: str | Path | None = None, extra: dict[str, str] | None = None) -> Path:
    """Load the trained model `model_name` from `model_dir` on the CPU and export it (the graph
    is fp32: the weights are read as fp32 and no autocast is traced)."""
    from app.models.predictor import Predictor

    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    pred = Predictor.load(model_dir, model_name, engine="torch", device="cpu")
    return export_predictor(pred, out or default_out(Path(model_dir), model_name, fmt), fmt, extra)
