"""A model exported as an ONNX graph, run by ONNX Runtime or OpenVINO, as the merge step's
predictor (same protocol as app.models.predictor.Predictor).

Merge exports the model once into `model/[N_]NAME_merge.onnx` (stamped with the weights'
save id, redone after more training), or runs a graph the user gives (`--graph FILE`: one of
our `export` files, `onnx` or `dfm`). A file that is not ours, or made for another resolution
than the model's, is refused with one line naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError
from backends.errors import BackendError
from app.models.export import META_PREFIX, MORPH_INPUTS, NAMES, input_names

ENGINES = ("onnx", "openvino")


class GraphPredictor:
    """`.resolution`, `.face_type`, `.learned_mask`, `.iteration`, `.predict(faces)`."""

    skips_mask = False  # the graph always computes its mask
    engine = None       # not a torch engine: merge runs it from one inference thread

    def __init__(self, session: Any, meta: dict[str, str], path: Path):
        self.session, self.path = session, path
        #: Python threads merge may call `predict` from at once (see open_session's `parallel`)
        self.inference_threads = getattr(session, "parallel_calls", 1)
        self.name = meta.get("model", "")
        self.resolution = int(meta["resolution"])
        self.face_type = meta["face_type"]
        self.learned_mask = meta.get("learned_mask") == "1"
        self.iteration = int(meta.get("iteration", 0))
        self.stamp = _stamp(self.name, self.iteration, path)
        self.fmt = meta["format"]
        self.merge_defaults = json.loads(meta.get("merge_defaults", "{}"))
        self.input_name = NAMES[self.fmt][0][0]
        #: a morphing model's graph takes the morph value (merge --morph) as a second input
        self.takes_morph = meta.get("takes_morph") == "1"
        self.morph_value = 1.0
        # outputs by position: onnx (face, mask); dfm (dst mask, celeb face, celeb mask)
        self._picks = (0, 1) if self.fmt == "onnx" else (1, 2)

    def predict(self, faces: np.ndarray, batch: int = 16,
                need_mask: bool = True) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(faces, np.float32)
        r = self.resolution
        if x.ndim != 4 or x.shape[1:] != (r, r, 3):
            raise ValueError(f"expected faces of shape [N, {r}, {r}, 3], got {x.shape}")
        out_f, out_m = [], []
        fi, mi = self._picks
        for i in range(0, len(x), batch):
            feed = {self.input_name: x[i:i + batch]}
            if self.takes_morph:
                feed[MORPH_INPUTS[self.fmt]] = np.float32([self.morph_value])
            res = self.session.run(feed)
            out_f.append(res[fi])
            out_m.append(res[mi])
        if not out_f:
            return np.zeros((0, r, r, 3), np.float32), np.zeros((0, r, r, 1), np.float32)
        return (np.clip(np.concatenate(out_f), 0, 1).astype(np.float32),
                np.clip(np.concatenate(out_m), 0, 1).astype(np.float32))


def _stamp(name: str, iteration: int, path: Path) -> str:
    """The model state a graph holds, as the torch predictor names it (so switching the merge
    engine keeps the frames); a graph whose metadata names no model, by its file."""
    from app.models.predictor import training_stamp

    if name:
        return training_stamp(name, iteration)
    try:
        st = path.stat()
    except OSError:
        return path.name
    return f"{path.name} ({st.st_size} bytes, modified {st.st_mtime_ns})"


def check_graph(path: Path, resolution: int | None = None) -> dict[str, str]:
    """Our metadata of the graph at `path` (UserError: not ONNX, not ours, other resolution)."""
    from backends.graph_session import read_info

    if not path.is_file():
        raise UserError("no such ONNX/DFM file", path)
    try:
        info = read_info(path)
    except ValueError as e:
        raise UserError(f"{e}; give a file written by `python -m app export`", path) from None
    meta = {k[len(META_PREFIX):]: v for k, v in info.metadata.items() if k.startswith(META_PREFIX)}
    fmt = meta.get("format")
    names = [n for n, _ in info.inputs]
    if fmt not in NAMES or names not in (input_names(fmt, False), input_names(fmt, True)) \
            or info.outputs != NAMES[fmt][1] or "resolution" not in meta:
        raise UserError("not an ONNX/DFM file exported by FaceStudio (its inputs, outputs or "
                        "metadata differ); merge runs only graphs from `python -m app export`",
                        path)
    meta["takes_morph"] = str(int(len(names) > 1))     # read from the inputs, not stored
    shape = info.inputs[0][1]
    if int(meta["resolution"]) != shape[1]:
        raise UserError("its metadata and its input shape disagree on the resolution", path)
    if resolution is not None and int(meta["resolution"]) != resolution:
        raise UserError(f"this graph is for {meta['resolution']} px faces but the model is "
                        f"{resolution} px; export the model again (`python -m app export`)",
                        path)
    return meta


def open_session(path: Path, engine: str, device: Any = None, parallel: bool = False):
    """A session on the engine's device (`device`: provider / OpenVINO device, None = best).

    `parallel` (merge): on the CPU, one intra-op thread per call and as many concurrent calls as
    cores, as merge runs torch (app.merge.engine.default_inference_threads): a runtime's own
    thread pool stalls when merge's image workers take a core. `parallel_calls` says how many.
    """
    if engine == "onnx":
        from backends import onnx_runtime as rt
    elif engine == "openvino":
        from backends import openvino_runtime as rt
    else:
        raise UserError(f"unknown graph engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    if not rt.present():
        from backends.graph_session import install_hint
        raise UserError(f"the {engine} engine is not installed here ({install_hint(engine)}); "
                        "or merge with --engine torch")
    import os

    dev = rt.pick(device)
    calls = max(1, os.cpu_count() or 1) if parallel and dev in rt.CPU_DEVICES else 1
    cls = rt.OrtSession if engine == "onnx" else rt.OvSession
    session = cls(path, dev, 1 if calls > 1 else None)
    session.parallel_calls = calls
    return session


def merge_graph(model_dir: Path, model_name: str) -> Path:
    """`model/[N_]NAME_merge.onnx`, exported again when the weights were saved since."""
    from app.models.export import export_model
    from app.models.predictor import find_files

    files = find_files(model_dir, model_name)
    if not files.data.is_file():
        raise UserError(f"no trained {files.name} model here; train it first with "
                        f"`python -m app train {files.name}`", model_dir)
    save_id = str(files.read_data().get("save_id", ""))
    path = files.dir / f"{files.stem}_merge.onnx"
    if path.is_file():
        try:
            meta = check_graph(path)
            if meta.get("save_id") == save_id and meta.get("format") == "onnx":
                return path
        except BackendError:
            pass  # damaged or old: export again
    print(f"exporting {files.stem} for the graph engines -> {path.name}")
    return export_model(model_dir, model_name, "onnx", path, extra={"save_id": save_id})


def load_graph_predictor(model_dir: str | Path, model_name: str | None, engine: str,
                         device: Any = None, graph: str | Path | None = None,
                         parallel: bool = False) -> GraphPredictor:
    """The model (or the given graph file) on ONNX Runtime / OpenVINO (`parallel`: see
    open_session)."""
    model_dir = Path(model_dir)
    resolution = None
    if graph is None:
        if not model_name:
            raise UserError("name the model to merge (or give --graph FILE)", model_dir)
        path = merge_graph(model_dir, model_name)
    else:
        path = Path(graph)
        if model_name:
            resolution = model_resolution(model_dir, model_name)
    meta = check_graph(path, resolution)
    return GraphPredictor(open_session(path, engine, device, parallel), meta, path)


def model_resolution(model_dir: Path, model_name: str) -> int | None:
    """The trained model's resolution, or None when there is no such model here."""
    from app.models.predictor import find_files

    try:
        files = find_files(model_dir, model_name)
        if not files.data.is_file():
            return None
        from app.models import model_class
        return int(model_class(files.name)(files.read_data()["options"]).resolution)
    except BackendError:
        return None
