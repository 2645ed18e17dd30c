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
#: "Merge engines"): on an idle CPU torch merged fastest (bf16: 1.4-1.6x OpenVINO, 1.65-1.8x ONNX
#: Runtime; fp32: level with ONNX Runtime, 1.5-1.6x OpenVINO), and on a GPU it runs there
PREFERRED = ("torch",)


def available() -> list[str]:
    """The engines this build carries, in ALL's order."""
    return [e for e in ALL if importlib.util.find_spec(_PACKAGE[e]) is not None]


def default() -> str:
    """The first preferred engine this build has."""
    have = available()
    return next((e for e in PREFERRED if e in have), "torch")


def check(name: str) -> str:
    """`name` if this build has that engine; else UserError listing what it has."""
    have = available()
    if name not in ALL:
        raise UserError(f"unknown engine {name!r}; choose one of: {', '.join(have)}")
    if name not in have:
        raise UserError(f"the {name} engine is not in this build (install {_PACKAGE[name]}); "
                        f"this build has: {', '.join(have)}")
    return name
