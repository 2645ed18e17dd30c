"""What keeps a CPU training step fast (speed itself is measured in bench/train.py)."""

import platform
import resource

import pytest
import torch


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc setting")
def test_cpu_engine_reuses_freed_memory_instead_of_faulting_it_in_again():
    """Each step frees and re-allocates the same large activations and gradients. glibc's
    default unmaps blocks over 32 MB when freed, so every step page-faulted them in again
    (~400 000 faults, 0.7-0.9 s of kernel time per H128 step); a CPU engine turns that off."""
    from backends.torch_engine import TorchEngine

    TorchEngine("cpu")

    def step_like():
        t = torch.ones(16 << 20)        # 64 MB, written (each page touched)
        return float(t[-1])

    for _ in range(10):                 # the heap grows to its working set first
        step_like()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step_like()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 2000, f"{faults} page faults for 5 re-allocations (16384 each if unmapped)"
