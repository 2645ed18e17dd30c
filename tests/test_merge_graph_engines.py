"""`merge --engine onnx|openvino`: the exported graph on ONNX Runtime and OpenVINO merges the
same frames as torch; bad engines, foreign graphs and graphs of another resolution are one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from backends.errors import BackendError  # noqa: E402
from app.merge.options import MergeOptions  # noqa: E402
from app.merge.runner import run_merge  # noqa: E402
from app.workspace import Workspace  # noqa: E402
from tests.conftest import MEDIA, REPO  # noqa: E402


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("ws")
    shutil.copytree(MEDIA / "merge" / "dst", root / "data_dst")
    shutil.copytree(MEDIA / "merge" / "src_faces", root / "data_src" / "aligned")
    from app.train.api import train

    train(Workspace(root), "H64", options={"lighter_ae": True}, general={"batch_size": 2},
          max_steps=2)
    return Workspace(root)


def merged(ws: Workspace, engine: str, **kw) -> dict[str, np.ndarray]:
    out = ws.merged_dir
    shutil.rmtree(out, ignore_errors=True)
    os.environ["FACESTUDIO_PRECISION"] = "fp32"  # torch as the graph computes it
    try:
        run_merge(ws, MergeOptions(mode="overlay"), model_name="H64", engine=engine,
                  workers=0, overwrite=True, **kw)
    finally:
        os.environ.pop("FACESTUDIO_PRECISION", None)
    imgs = {p.name: cv2.imread(str(p)).astype(np.float32) for p in sorted(out.glob("*.jpg"))}
    shutil.rmtree(out)
    return imgs


@pytest.mark.parametrize("engine", ["onnx", "openvino"])
def test_graph_engine_merges_what_torch_merges(ws, engine):
    pytest.importorskip({"onnx": "onnxruntime", "openvino": "openvino"}[engine])
    want = merged(ws, "torch")
    got = merged(ws, engine)
    assert sorted(got) == sorted(want) and len(got) == 8
    # the same JPEGs up to rounding (a different face would differ by tens of levels)
    assert max(np.abs(got[k] - want[k]).mean() for k in want) < 0.5
    graph = ws.model_dir / "H64_merge.onnx"
    assert graph.is_file()
    stamp = graph.stat().st_mtime_ns
    merged(ws, engine)
    assert graph.stat().st_mtime_ns == stamp  # exported once, reused while the weights stay


def app(ws: Workspace, *args: str):
    env = dict(os.environ, FACESTUDIO_ASK="0", PYTHONPATH=str(REPO), FACESTUDIO_THREADS="1")
    return subprocess.run([sys.executable, "-m", "app", "--workspace", str(ws.root), "merge",
                           "H64", "--workers", "0", "--overwrite", *args],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def one_error_line(r, *words: str) -> str:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_unknown_engine_is_an_error_not_torch(ws):
    one_error_line(app(ws, "--engine", "foo"), "unknown engine 'foo'", "torch", "onnx")


def test_missing_provider_is_one_line(ws):
    one_error_line(app(ws, "--engine", "onnx", "--device", "dml"), "DmlExecutionProvider",
                   "not in this install")


def test_foreign_onnx_file_is_refused(ws, tmp_path):
    import torch

    foreign = tmp_path / "other.onnx"
    torch.onnx.export(torch.nn.Conv2d(3, 3, 3), (torch.rand(1, 3, 64, 64),), str(foreign),
                      dynamo=False, input_names=["x"], output_names=["y"])
    one_error_line(app(ws, "--engine", "onnx", "--graph", str(foreign)), "other.onnx",
                   "not an ONNX/DFM file exported by FaceStudio")
    junk = tmp_path / "junk.dfm"
    junk.write_bytes(b"\x08\x07 not a protobuf" * 50)
    one_error_line(app(ws, "--engine", "openvino", "--graph", str(junk)), "junk.dfm",
                   "not an ONNX model")


def test_dfm_of_another_resolution_is_refused(ws, tmp_path):
    from backends import get_engine
    from app.models import model_class
    from app.models.export import export_predictor
    from app.models.options import resolve
    from app.models.predictor import Predictor

    cls = model_class("SAE")
    model = cls(resolve(cls.options_spec, {"resolution": 80, "ae_dims": 128, "e_ch_dims": 21,
                                           "d_ch_dims": 11}))
    eng = get_engine("torch", "cpu", precision="fp32")
    eng.init_params(model.specs, seed=0)
    dfm = export_predictor(Predictor(model, eng), tmp_path / "sae80.dfm", "dfm")
    one_error_line(app(ws, "--engine", "onnx", "--graph", str(dfm)), "sae80.dfm", "80 px",
                   "64 px")


def test_a_damaged_graph_fails_to_start_with_one_line(tmp_path):
    from backends.onnx_runtime import OrtSession

    bad = tmp_path / "cut.onnx"
    bad.write_bytes(b"\x08\x07\x12\x04" + os.urandom(64))
    with pytest.raises(BackendError, match="could not start CPUExecutionProvider") as e:
        OrtSession(bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("engine", ["onnx", "openvino"])
def test_merge_calls_the_graph_from_several_threads_with_the_same_result(ws, engine):
    """On the CPU merge runs the graph as it runs torch: one intra-op thread per call, one call
    per core at once (OpenVINO: an infer request per thread); the faces are those of one call."""
    pytest.importorskip({"onnx": "onnxruntime", "openvino": "openvino"}[engine])
    from concurrent.futures import ThreadPoolExecutor

    from app.models.graph_predictor import load_graph_predictor

    one = load_graph_predictor(ws.model_dir, "H64", engine, "cpu")
    par = load_graph_predictor(ws.model_dir, "H64", engine, "cpu", parallel=True)
    assert one.inference_threads == 1 and par.inference_threads == (os.cpu_count() or 1)
    faces = np.random.default_rng(0).random((6, 64, 64, 3)).astype(np.float32)
    want = one.predict(faces)
    with ThreadPoolExecutor(3) as ex:
        parts = list(ex.map(par.predict, np.array_split(faces, 3)))
    got = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    assert np.abs(got[0] - want[0]).max() < 1e-4 and np.abs(got[1] - want[1]).max() < 1e-4


@pytest.mark.parametrize("engine", ["onnx", "openvino"])
def test_a_missing_runtime_names_the_build_in_a_portable_folder(monkeypatch, engine):
    """From source the fix is pip; an unzipped portable build has no pip, so the message names
    the build that carries the runtime (and `devices` says the same)."""
    from backends import onnx_runtime, openvino_runtime
    from app.errors import UserError
    from app.models.graph_predictor import open_session
    rt = onnx_runtime if engine == "onnx" else openvino_runtime
    monkeypatch.setattr(rt, "present", lambda: False)
    assert "pip install" in rt.describe()[0]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    line = rt.describe()[0]
    assert "pip" not in line and ("opencl-sse" in line or "every portable build" in line)
    if engine == "openvino":
        assert "opencl-sse portable build" in line
    with pytest.raises(UserError, match="portable build.*--engine torch"):
        open_session(Path("model.onnx"), engine)
