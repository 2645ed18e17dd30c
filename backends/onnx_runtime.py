"""ONNX Runtime as a merge engine: the execution providers this install has, and a session on
the best of them. Which providers exist depends on the installed wheel: `onnxruntime` (CPU;
the pinned one), `onnxruntime-directml` (Windows: any DirectX 12 GPU, AMD/Intel/NVIDIA),
`onnxruntime-gpu` (CUDA), `onnxruntime-rocm` / MIGraphX (AMD on Linux), `onnxruntime-openvino`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backends.errors import BackendError
from backends.graph_session import GraphSession, cpu_threads, install_hint

#: GPU providers first, most capable first; the CPU provider last (always there).
PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "MIGraphXExecutionProvider",
              "ROCMExecutionProvider", "DmlExecutionProvider", "OpenVINOExecutionProvider",
              "CoreMLExecutionProvider", "CPUExecutionProvider")
#: the provider that runs on the CPU (merge calls it from several threads there)
CPU_DEVICES = ("CPUExecutionProvider",)
SHORT = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
         "tensorrt": "TensorrtExecutionProvider", "rocm": "ROCMExecutionProvider",
         "migraphx": "MIGraphXExecutionProvider", "dml": "DmlExecutionProvider",
         "directml": "DmlExecutionProvider", "openvino": "OpenVINOExecutionProvider",
         "coreml": "CoreMLExecutionProvider"}


#: the wheel that brings each provider (one onnxruntime package per install)
PACKAGE = {"DmlExecutionProvider": "onnxruntime-directml (Windows)",
           "CUDAExecutionProvider": "onnxruntime-gpu", "TensorrtExecutionProvider": "onnxruntime-gpu",
           "ROCMExecutionProvider": "onnxruntime-rocm (AMD's ROCm wheel index)",
           "MIGraphXExecutionProvider": "onnxruntime-migraphx (AMD)",
           "OpenVINOExecutionProvider": "onnxruntime-openvino",
           "CoreMLExecutionProvider": "onnxruntime (macOS)"}


def present() -> bool:
    import importlib.util
    return importlib.util.find_spec("onnxruntime") is not None


def providers() -> list[str]:
    """Providers this onnxruntime build offers that can run a model, in our preference order."""
    import onnxruntime as ort

    have = set(ort.get_available_providers())
    return [p for p in PREFERENCE if p in have]


def pick(spec: str | int | None) -> str:
    """The provider for `--device`: None/"best" -> the first of `providers()`, "cpu", a short
    name (dml, cuda, rocm, ...) or a full provider name."""
    avail = providers()
    if spec is None or str(spec).lower() in ("best", "", "all"):
        return avail[0]
    want = SHORT.get(str(spec).lower(), str(spec))
    if want not in avail:
        hint = PACKAGE.get(want, "the onnxruntime package that has it")
        raise BackendError(f"ONNX Runtime provider {want} is not in this install (it has: "
                        f"{', '.join(avail)}); uninstall onnxruntime and install {hint} "
                        "(README, Engines), or use --device cpu")
    return want


class OrtSession(GraphSession):
    """An ONNX Runtime session on one provider (with the CPU provider behind it for any op the
    provider lacks, as ONNX Runtime does)."""

    engine = "onnx"

    def __init__(self, path: str | Path, provider: str = "CPUExecutionProvider",
                 threads: int | None = None):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads or cpu_threads()
        so.inter_op_num_threads = 1
        # no busy-waiting threads: merge shares the cores with its image workers
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        chain = [provider] + (["CPUExecutionProvider"] if provider != "CPUExecutionProvider" else [])
        try:
            self.sess = ort.InferenceSession(str(path), so, providers=chain)
        except Exception as e:
            raise BackendError(f"ONNX Runtime could not start {provider} on this file "
                            f"({first_line(e)}); check the GPU driver or use --device cpu",
                            path) from None
        used = self.sess.get_providers()
        if provider not in used:  # ORT falls back silently when a provider fails to start
            raise BackendError(f"ONNX Runtime provider {provider} failed to start (driver "
                            f"missing?); it runs on {', '.join(used)}; use --device cpu", path)
        self.device = provider
        self.output_names = [o.name for o in self.sess.get_outputs()]

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.sess.run(None, feeds)


def first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else type(e).__name__


def describe() -> list[str]:
    """Lines for `python -m app devices`."""
    if not present():
        return [f"ONNX Runtime: not installed ({install_hint('onnx')})"]
    import onnxruntime as ort

    return [f"ONNX Runtime {ort.__version__} providers: {', '.join(providers())}"
            f" (merge --engine onnx would use {pick(None)})"]
