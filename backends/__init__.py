"""Backends: device detection and the engines behind one small layer API.

Light on purpose: importing `backends` imports neither torch nor tinygrad; `get_engine` does.
See docs/INTERFACES.md, "Engine layer API".
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator

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


@contextmanager
def share_cpu(workers: int) -> Iterator[None]:
    """Leave other processes (merge's image workers) their cores while inside: torch threads =
    cores - workers (at least 1), back to what they were on leaving. On a small CPU, inference
    threads competing with the workers run several times slower (measured: 4x for H128 on 2
    cores), so oversubscription costs more than it gives. Restoring matters: a training started
    later in the same process takes the thread count it finds, and ran 1.7x slower at one
    thread. Does nothing where torch is not loaded (the other engines)."""
    torch = sys.modules.get("torch")
    if torch is None or workers <= 0:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, (os.cpu_count() or 1) - workers))
    try:
        yield
    finally:
        torch.set_num_threads(before)
