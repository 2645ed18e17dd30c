"""OpenVINO as a merge engine: Intel CPUs, integrated and Arc GPUs and NPUs (the pinned
`openvino` wheel carries the CPU, GPU and NPU plugins; the GPU needs Intel's compute runtime
driver, the NPU its NPU driver). It reads the exported ONNX graph directly."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from backends.errors import BackendError
from backends.graph_session import GraphSession, cpu_threads, install_hint
from backends.onnx_runtime import first_line

PREFERENCE = ("GPU", "NPU", "CPU")
CPU_DEVICES = ("CPU",)


def present() -> bool:
    import importlib.util
    return importlib.util.find_spec("openvino") is not None


def devices() -> list[tuple[str, str]]:
    """(device name, full name) of every device OpenVINO finds, GPUs first."""
    import openvino as ov

    core = ov.Core()
    found = []
    for d in core.available_devices:
        try:
            full = str(core.get_property(d, "FULL_DEVICE_NAME"))
        except Exception:
            full = d
        found.append((d, full))
    rank = {p: i for i, p in enumerate(PREFERENCE)}
    return sorted(found, key=lambda t: rank.get(t[0].split(".")[0], len(rank)))


def pick(spec: str | int | None) -> str:
    """None/"best" -> a GPU if OpenVINO finds one, else the CPU; or a device name (GPU.1, NPU)."""
    devs = [d for d, _ in devices()]
    if spec is None or str(spec).lower() in ("best", "", "all"):
        return devs[0] if devs else "CPU"
    want = str(spec).upper()
    if want not in devs:
        raise BackendError(f"OpenVINO device {spec!r} not found (it has: {', '.join(devs)}); the "
                        "GPU needs Intel's GPU driver (compute runtime), the NPU its NPU driver")
    return want


def cpu_precision(core) -> str:
    """"bf16" where the CPU computes it natively (OpenVINO lists BF16 among its capabilities:
    AVX-512 BF16 or AMX), else "f32": the torch engine's rule (backends.torch_engine
    .pick_precision), so both engines merge at the same precision; FACESTUDIO_PRECISION=fp32|bf16
    overrides, as for torch."""
    env = os.environ.get("FACESTUDIO_PRECISION", "auto")
    if env in ("fp32", "bf16"):
        return "f32" if env == "fp32" else "bf16"
    try:
        caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:
        return "f32"
    return "bf16" if "BF16" in caps else "f32"


class OvSession(GraphSession):
    """A model compiled by OpenVINO for one device (latency hint); one infer request per calling
    thread, so merge's inference threads run side by side."""

    engine = "openvino"

    def __init__(self, path: str | Path, device: str = "CPU", threads: int | None = None):
        import openvino as ov

        core = ov.Core()
        cfg: dict = {"PERFORMANCE_HINT": "LATENCY"}
        if device == "CPU":
            cfg["INFERENCE_NUM_THREADS"] = threads or cpu_threads()
            cfg["INFERENCE_PRECISION_HINT"] = cpu_precision(core)
        try:
            self.compiled = core.compile_model(str(path), device, cfg)
        except Exception as e:
            raise BackendError(f"OpenVINO could not start device {device} on this file "
                            f"({first_line(e)}); check the driver or use --device cpu",
                            path) from None
        self.device = device
        self.output_names = [o.get_any_name() for o in self.compiled.outputs]
        self._local = threading.local()  # an infer request serves one call at a time

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        res = request.infer(feeds)
        return [np.array(res[o]) for o in self.compiled.outputs]


def describe() -> list[str]:
    """Lines for `python -m app devices`."""
    if not present():
        return [f"OpenVINO: not installed ({install_hint('openvino')})"]
    import openvino as ov

    devs = devices()
    listed = ", ".join(f"{d} ({full})" for d, full in devs) or "none"
    return [f"OpenVINO {ov.__version__.split('-')[0]} devices: {listed}"
            f" (merge --engine openvino would use {pick(None)})"]
