"""What the ONNX Runtime and OpenVINO runners share: a loaded graph that maps named numpy
inputs to its outputs, with the metadata stored in the file (`metadata_props`)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class GraphInfo:
    """Inputs (name, shape), outputs (names, in order) and metadata of an ONNX file."""

    inputs: list[tuple[str, list]]
    outputs: list[str]
    metadata: dict[str, str]


def read_info(path: str | Path) -> GraphInfo:
    """The file's interface and metadata without loading its weights (ValueError: not ONNX)."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf's DecodeError and friends: not an ONNX model
        raise ValueError(f"not an ONNX model ({type(e).__name__})") from None
    g = proto.graph
    init = {t.name for t in g.initializer}

    def dims(v) -> list:
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    ins = [(v.name, dims(v)) for v in g.input if v.name not in init]
    return GraphInfo(ins, [v.name for v in g.output], {p.key: p.value for p in proto.metadata_props})


#: graph runtime -> (its pip package, the portable builds that carry it: build.py's pins)
RUNTIMES = {"onnx": ("onnxruntime", "every portable build"),
            "openvino": ("openvino", "the opencl-sse portable build")}


def install_hint(engine: str) -> str:
    """How to get a missing graph runtime: from source, the pip package; in a portable build
    (frozen, no pip), the build that carries it."""
    package, builds = RUNTIMES[engine]
    if getattr(sys, "frozen", False):
        return f"this portable build does not carry {package}: it is in {builds}"
    return f"pip install {package}"


def cpu_threads() -> int:
    """Intra-op threads: FACESTUDIO_THREADS, else all cores (as the torch engine)."""
    env = os.environ.get("FACESTUDIO_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else max(1, os.cpu_count() or 1)


class GraphSession:
    """`run({name: array}) -> [arrays in output order]`; `.device` says where it runs."""

    engine = ""
    device = ""

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError
