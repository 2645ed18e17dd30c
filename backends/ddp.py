"""Multi-device training with torch.distributed: one process per device, gradients averaged.

GPUs use NCCL; without GPUs, CPU processes use gloo (that is how this path is tested). Each rank
feeds its share of the batch (`shard`); the torch engine averages gradients and reported losses
over ranks, so N ranks with batch B/N follow a single process with batch B.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np


def init(rank: int, world_size: int, init_file: str | None = None, backend: str | None = None) -> None:
    """Join the process group (file rendezvous when `init_file` is given, else env://)."""
    import torch
    import torch.distributed as dist

    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    url = f"file://{os.path.abspath(init_file)}" if init_file else "env://"
    dist.init_process_group(backend, init_method=url, rank=rank, world_size=world_size)
    if backend == "nccl":
        torch.cuda.set_device(rank)


def shutdown() -> None:
    import torch.distributed as dist
    if dist.is_initialized():
        dist.barrier()  # leave together: a rank tearing gloo down mid-exchange aborts its peer
        dist.destroy_process_group()


def shard(batch: dict[str, np.ndarray], rank: int, world_size: int) -> dict[str, np.ndarray]:
    """This rank's equal share of every array in the batch (batch size must divide evenly)."""
    out = {}
    for k, v in batch.items():
        n = v.shape[0]
        if n % world_size:
            raise ValueError(f"batch size {n} does not split over {world_size} devices")
        per = n // world_size
        out[k] = v[rank * per:(rank + 1) * per]
    return out


def launch(fn: Callable, world_size: int, *args) -> None:
    """Run `fn(rank, world_size, *args)` in `world_size` spawned processes and wait."""
    import torch.multiprocessing as mp
    mp.spawn(fn, args=(world_size, *args), nprocs=world_size, join=True)
