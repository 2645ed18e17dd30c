"""Multi-device training with torch.distributed: one process per device, gradients averaged.

GPUs use NCCL where torch has it; CPU processes (and GPUs without NCCL, e.g. on Windows) use
gloo. Each rank feeds its share of the batch (`shard`, or BatchMaker's part); the torch engine
averages gradients and reported losses over ranks, so N ranks with batch B/N follow a single
process with batch B.

What ranks exchange besides gradients are numbers (`agree`) and JSON (`broadcast_json`), never
pickled objects: a peer on the network must not be able to run code in this process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np


def pick_backend(device: str) -> str:
    """NCCL for CUDA devices where torch was built with it, gloo otherwise."""
    import torch.distributed as dist
    return "nccl" if device.startswith("cuda") and dist.is_nccl_available() else "gloo"


def init(rank: int, world_size: int, init_file: str | None = None, backend: str | None = None,
         device: str | None = None) -> None:
    """Join the process group (file rendezvous when `init_file` is given, else env://, which is
    what torchrun sets up). `device`: this rank's torch device ("cuda:2", "cpu")."""
    import torch
    import torch.distributed as dist

    if device is None:
        device = f"cuda:{rank}" if torch.cuda.is_available() else "cpu"
    backend = backend or pick_backend(device)
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    url = Path(init_file).resolve().as_uri() if init_file else "env://"   # file:///C:/... on Windows
    dist.init_process_group(backend, init_method=url, rank=rank, world_size=world_size)


def active() -> bool:
    """Whether this process is one rank of several."""
    import torch.distributed as dist
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def shutdown() -> None:
    import torch.distributed as dist
    if dist.is_initialized():
        dist.barrier()  # leave together: a rank tearing gloo down mid-exchange aborts its peer
        dist.destroy_process_group()


def _tensor_device():
    """Where collective tensors live: NCCL only moves CUDA tensors."""
    import torch
    import torch.distributed as dist
    return torch.device("cuda", torch.cuda.current_device()) \
        if dist.get_backend() == "nccl" else torch.device("cpu")


def agree(value: int) -> int:
    """The largest `value` over all ranks (e.g. a stop request seen by any rank)."""
    import torch
    import torch.distributed as dist
    t = torch.tensor([int(value)], dtype=torch.int64, device=_tensor_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def broadcast_json(obj: Any, src: int = 0) -> Any:
    """`obj` from rank `src` on every rank, sent as JSON text (not pickle)."""
    import torch
    import torch.distributed as dist
    dev = _tensor_device()
    raw = json.dumps(obj).encode() if dist.get_rank() == src else b""
    size = torch.tensor([len(raw)], dtype=torch.int64, device=dev)
    dist.broadcast(size, src)
    buf = torch.zeros(int(size.item()), dtype=torch.uint8, device=dev)
    if dist.get_rank() == src:
        buf.copy_(torch.frombuffer(bytearray(raw), dtype=torch.uint8))
    dist.broadcast(buf, src)
    return json.loads(bytes(buf.cpu().numpy()).decode())


def broadcast_params(engine: Any, src: int = 0) -> None:
    """Make every rank's weights rank `src`'s (replicas start identical whatever each rank's
    hardware did with the seeded initialisation)."""
    import torch
    import torch.distributed as dist
    with torch.no_grad():
        for name in sorted(engine.params):
            p = engine.params[name]
            if dist.get_backend() == "nccl" or p.device.type == "cpu":
                dist.broadcast(p.data, src)
            else:                  # gloo moves CPU tensors only
                t = p.detach().cpu()
                dist.broadcast(t, src)
                p.copy_(t)


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
