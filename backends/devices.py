"""Device detection and choice (filled in below the engine API)."""

from __future__ import annotations


def default_torch_device() -> str:
    """First CUDA/ROCm, XPU or MPS device torch sees, else the CPU."""
    import torch
    if torch.cuda.is_available():
        return "cuda:0"
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        return "xpu:0"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"
