"""Backends: device detection and the engines behind one small layer API.

Light on purpose: importing `backends` imports neither torch nor tinygrad; `get_engine` does.
See docs/INTERFACES.md, "Engine layer API".
"""

from __future__ import annotations

from typing import Any

ENGINES = ("torch", "opencl")


def get_engine(name: str = "torch", device: Any = None, **kw: Any):
    """An engine for one model run. `name`: "torch" or "opencl"; `device`: a torch device string
    ("cpu", "cuda:0", ...) for torch, an OpenCL device index for opencl, or None for the system
    choice (see backends.devices). Extra keywords go to the engine (torch: precision)."""
    if name == "torch":
        from backends.torch_engine import TorchEngine
        if device is None:
            from backends.devices import default_torch_device
            device = default_torch_device()
        return TorchEngine(device, **kw)
    if name in ("opencl", "cl"):
        from backends.opencl_engine import OpenCLEngine
        return OpenCLEngine(device, **kw)
    from backends.errors import BackendError
    raise BackendError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
