"""`export --format dfm|onnx`: the graph ONNX Runtime and OpenVINO run gives what torch gives.

Each model (several option sets) is exported from torch weights and run by a real onnxruntime
session: DeepFaceLive's input/output names, shapes and order, and every output within 1e-3 of
the torch engine (fp32) on the same faces. One model is trained on the OpenCL engine first
(tinygrad on PoCL), so the weights came from there.
"""

from __future__ import annotations

import numpy as np
import pytest

onnxruntime = pytest.importorskip("onnxruntime")

from backends import get_engine  # noqa: E402
from backends.devices import list_opencl  # noqa: E402
from app.errors import UserError  # noqa: E402
from app.models import model_class  # noqa: E402
from app.models.export import NAMES, export_model, export_predictor  # noqa: E402
from app.models.options import resolve  # noqa: E402
from app.models.predictor import Predictor  # noqa: E402

SMALL_SAE = {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21, "d_ch_dims": 11}
SMALL_SAEHD = {"resolution": 64, "ae_dims": 32, "e_dims": 16, "d_dims": 16, "d_mask_dims": 16}

FAST = [
    ("H64", {"lighter_ae": True}),
    ("H64", {"lighter_ae": True, "learn_mask": False}),
    ("SAE", dict(SMALL_SAE, archi="df", multiscale_decoder=True, d_residual_blocks=True)),
    ("SAE", dict(SMALL_SAE, archi="liae", face_type="h", lighter_encoder=True)),
    ("SAE", dict(SMALL_SAE, archi="vg", learn_mask=False)),
    ("SAEHD", dict(SMALL_SAEHD, archi="liae-ud", face_type="wf")),
    ("SAEHD", dict(SMALL_SAEHD, archi="df-udt")),
    ("AMP", dict(SMALL_SAEHD, inter_dims=64, face_type="f")),
]
BIG = [("H128", {"lighter_ae": True}), ("DF", {}), ("LIAEF128", {})]


def torch_predictor(name: str, options: dict, seed: int = 0) -> Predictor:
    cls = model_class(name)
    model = cls(resolve(cls.options_spec, options))
    eng = get_engine("torch", "cpu", precision="fp32")
    eng.init_params(model.specs, seed=seed)
    p = Predictor(model, eng)
    # untrained outputs sit at sigmoid(~0) = 0.5 +- 0.003: scale the output convs so the faces
    # and masks spread over 0..1 and a 1e-3 match means something
    face, mask = p.predict(faces(2, p.resolution))
    gain = {3: 1.5 / (4 * face.std() + 1e-9), 1: 1.5 / (4 * mask.std() + 1e-9)}
    sd = eng.state_dict()
    for k, v in sd.items():
        if v.ndim == 4 and v.shape[0] in gain:
            sd[k] = v * gain[v.shape[0]]
            b = k.rsplit(".", 1)[0] + ".bias"
            if b in sd:
                sd[b] = sd[b] * gain[v.shape[0]]
    eng.load_state_dict(sd)
    return p


def faces(n: int, res: int) -> np.ndarray:
    return np.random.RandomState(1).rand(n, res, res, 3).astype(np.float32)


def torch_dst_mask(p: Predictor, x: np.ndarray) -> np.ndarray:
    def fn(F, P, b):
        return p.model.swap_with_dst_mask(F, P, b["face"])[2]
    return p.engine.predict(fn, {"face": x.transpose(0, 3, 1, 2).copy()}).transpose(0, 2, 3, 1)


def check_dfm(p: Predictor, path, tol: float = 1e-3, spread: bool = True) -> None:
    """`spread`: the outputs cover 0..1 (else `tol` should be far under their spread)."""
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    r = p.resolution
    ins, outs = sess.get_inputs(), sess.get_outputs()
    morph = p.model.morph_channels > 0                      # AMP: DFL's second input
    assert [i.name for i in ins] == ["in_face:0"] + ["morph_value:0"] * morph  # DeepFaceLive's
    assert ins[0].shape[1:] == [r, r, 3]                    # it reads H, W from shape[1:3]
    assert [o.name for o in outs] == NAMES["dfm"][1]
    x = faces(3, r)
    feed = {"in_face:0": x, **({"morph_value:0": np.float32([1.0])} if morph else {})}
    dst_mask, face, mask = sess.run(None, feed)
    assert face.shape == (3, r, r, 3) and mask.shape == dst_mask.shape == (3, r, r, 1)
    want_face, want_mask = p.predict(x)
    if spread:
        assert want_face.std() > 0.05 and (not p.learned_mask or want_mask.std() > 0.05)
    assert np.abs(face - want_face).max() < tol
    assert np.abs(mask - want_mask).max() < tol
    if p.learned_mask:
        assert np.abs(dst_mask - torch_dst_mask(p, x)).max() < tol
        assert np.abs(dst_mask - mask).max() > (0.05 if spread else 10 * tol)  # dst's decoder
    else:
        assert (dst_mask == 1).all() and (mask == 1).all()


@pytest.mark.parametrize("name,options", FAST, ids=lambda v: v if isinstance(v, str) else "")
def test_dfm_matches_torch(tmp_path, name, options):
    p = torch_predictor(name, options)
    check_dfm(p, export_predictor(p, tmp_path / "m.dfm", "dfm"))
    check_label(tmp_path / "m.dfm")


def test_amp_graphs_take_the_morph_value_as_deepfacelive_feeds_it(tmp_path):
    """DFL's AMP DFM: `morph_value:0` (float32 [1]) beside `in_face:0`; each value gives what the
    torch predictor gives at that morph factor; our merge's onnx graph and its predictor too."""
    from app.models.graph_predictor import GraphPredictor, check_graph, open_session
    p = torch_predictor("AMP", dict(SMALL_SAEHD, inter_dims=64, face_type="f"))
    path = export_predictor(p, tmp_path / "m.dfm", "dfm")
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[1].shape == [1]
    x = faces(2, p.resolution)
    got = {}
    for value in (0.0, 0.3, 1.0):
        at = Predictor(model_class("AMP")({**p.model.options, "morph_value": value}), p.engine)
        _, face, mask = sess.run(None, {"in_face:0": x, "morph_value:0": np.float32([value])})
        want_face, want_mask = at.predict(x)
        assert np.abs(face - want_face).max() < 1e-3 and np.abs(mask - want_mask).max() < 1e-3
        got[value] = face
    assert np.abs(got[0.0] - got[1.0]).mean() > 0.02 and np.abs(got[0.3] - got[1.0]).mean() > 0.01
    onnx_path = export_predictor(p, tmp_path / "m.onnx", "onnx")
    import importlib.util
    engines = ["onnx"] + (["openvino"] if importlib.util.find_spec("openvino") else [])
    for engine in engines:
        graph = GraphPredictor(open_session(onnx_path, engine), check_graph(onnx_path),
                               onnx_path)
        assert graph.takes_morph
        graph.morph_value = 0.3
        off = np.abs(graph.predict(x)[0] - got[0.3])
        # OpenVINO's CPU plugin runs bf16 where the CPU has it (merge wants the speed)
        assert off.max() < 1e-3 if engine == "onnx" else \
            off.mean() < 0.2 * np.abs(got[0.3] - got[1.0]).mean(), engine


def check_label(path) -> None:
    """A graph that makes replaced faces says so (DeepFaceLive shows neither, but both travel
    with the file)."""
    import onnx
    from app import ALTERED_MEDIA_LABEL
    proto = onnx.load(str(path), load_external_data=False)
    assert proto.doc_string == ALTERED_MEDIA_LABEL
    assert {m.key: m.value for m in proto.metadata_props}["facestudio.label"] == ALTERED_MEDIA_LABEL


@pytest.mark.slow
@pytest.mark.parametrize("name,options", BIG, ids=lambda v: v if isinstance(v, str) else "")
def test_dfm_matches_torch_big(tmp_path, name, options):
    p = torch_predictor(name, options)
    check_dfm(p, export_predictor(p, tmp_path / "m.dfm", "dfm"))


def test_onnx_format_carries_our_metadata_and_runs_on_openvino(tmp_path):
    ov = pytest.importorskip("openvino")
    from app.models.graph_predictor import check_graph

    p = torch_predictor("H64", {"lighter_ae": True}, seed=3)
    path = export_predictor(p, tmp_path / "m.onnx", "onnx")
    meta = check_graph(path, 64)
    assert (meta["model"], meta["face_type"], meta["format"]) == ("H64", "half", "onnx")
    check_label(path)
    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    x = faces(2, 64)
    res = compiled.create_infer_request().infer({"in_face": x})
    got = [np.asarray(res[o]) for o in compiled.outputs]
    want = p.predict(x)
    assert np.abs(got[0] - want[0]).max() < 1e-3 and np.abs(got[1] - want[1]).max() < 1e-3


@pytest.mark.slow  # tinygrad compiles the SAE step's kernels on PoCL first: ~4.5 min on 2 cores
@pytest.mark.skipif(not any(d.usable for d in list_opencl()), reason="no usable OpenCL device")
def test_export_of_a_model_trained_on_opencl(tmp_path, monkeypatch):
    """Weights trained by tinygrad on PoCL and saved; the export (torch) matches a torch
    predictor loaded from the same files."""
    monkeypatch.setenv("FACESTUDIO_PRECISION", "fp32")
    from app.train.api import train
    from app.workspace import Workspace

    ws = make_workspace(tmp_path)
    opts = dict(SMALL_SAE, archi="liae")
    train(ws, "SAE", options=opts, general={"batch_size": 2}, max_steps=2, engine="opencl")
    path = export_model(ws.model_dir, "SAE", "dfm", tmp_path / "sae.dfm")
    p = Predictor.load(ws.model_dir, "SAE", engine="torch", device="cpu")
    assert p.iteration == 2
    # two steps leave the outputs at 0.5 +- 3e-4: fp32 on both sides, so hold them to 1e-6
    check_dfm(p, path, tol=1e-6, spread=False)


def make_workspace(root) -> "Workspace":
    import shutil

    from app.workspace import Workspace
    from tests.conftest import MEDIA

    shutil.copytree(MEDIA / "merge" / "dst", root / "data_dst")
    shutil.copytree(MEDIA / "merge" / "src_faces", root / "data_src" / "aligned")
    return Workspace(root)


def test_export_without_a_trained_model_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="train it first"):
        export_model(tmp_path, "SAE", "dfm")
    with pytest.raises(UserError, match="unknown export format"):
        export_model(tmp_path, "SAE", "tflite")
