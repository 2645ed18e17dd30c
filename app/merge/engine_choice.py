"""Which engines can run the merge in this build, and which one merge uses by default.

torch always; opencl where tinygrad is installed; onnx (ONNX Runtime) and openvino where their
packages are (the requirements pin their CPU builds; the portable builds say which they carry).
The default follows bench/merge.py's figures (bench/RESULTS.md, "Merge engines").
"""

from __future__ import annotations

import importlib.util

from app.errors import UserError

ALL = ("torch", "opencl", "onnx", "openvino")
_PACKAGE = {"torch": "torch", "opencl": "tinygrad", "onnx": "onnxruntime", "openvino": "openvino"}
#: the engine merge takes when none is chosen, where this build has it (bench/RESULTS.md,
#: "Merge engines"): on a machine where torch has no GPU, OpenVINO merged faster than torch on
#: the CPU; where torch has a GPU (CUDA, ROCm, XPU, MPS), torch runs there
PREFERRED_CPU = ("openvino", "torch")
PREFERRED_GPU = ("torch",)


def available() -> list[str]:
    """The engines this build carries, in ALL's order."""
    return [e for e in ALL if importlib.util.find_spec(_PACKAGE[e]) is not None]


def default(torch_has_gpu: bool | None = None) -> str:
    """The first preferred engine this build has (`torch_has_gpu`: None asks torch)."""
    if torch_has_gpu is None:
        from backends.devices import list_torch_gpus
        torch_has_gpu = bool(list_torch_gpus())
    have = available()
    order = PREFERRED_GPU if torch_has_gpu else PREFERRED_CPU
    return next((e for e in order if e in have), "torch")


def check(name: str) -> str:
    """`name` if this build has that engine; else UserError listing what it has."""
    have = available()
    if name not in ALL:
        raise UserError(f"unknown engine {name!r}; choose one of: {', '.join(have)}")
    if name not in have:
        raise UserError(f"the {name} engine is not in this build (install {_PACKAGE[name]}); "
                        f"this build has: {', '.join(have)}")
    return name
