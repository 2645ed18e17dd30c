"""Training one model on several devices: one process per device, gradients averaged.

The batch size is the whole batch, split evenly over the processes (as DeepFaceLab 2.0 and
faceswap split theirs over several GPUs): batch 8 on two GPUs is 4 faces on each, and the run
follows the same loss curve as batch 8 on one device, so a model can resume on another number of
devices. Each process builds only its part of every batch (samples.BatchMaker's part).

- One machine: `train --device all` / `--device 0,2` / `--device cpu,cpu` calls `launch`, which
  spawns one process per device (torch.multiprocessing) that meet through a file in a temporary
  folder; NCCL joins CUDA GPUs, gloo the rest (backends.ddp).
- Several machines: torchrun starts `python -m app train ...` on each; `torchrun_rank` reads the
  ranks it sets and `join_torchrun` joins through its env:// rendezvous. The model folder must
  be the same (shared) folder on every machine; only global rank 0 writes to it.

Ctrl+C or SIGTERM in any process sets a flag; the ranks agree on it after each step, stop at the
same iteration, and rank 0 saves once (app.train.trainer).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import UserError

_STOP = threading.Event()


@dataclass
class TrainJob:
    """Everything a training process needs; the questions are already answered."""

    src_dir: str
    dst_dir: str
    model_dir: str
    model: str
    options: dict = field(default_factory=dict)
    general: dict = field(default_factory=dict)
    engine: str = "torch"
    prefix: str = ""
    seed: int | None = None
    save_every_min: float = 25.0
    window: bool | None = None
    pretrain_dir: str | None = None


def run_job(job: TrainJob, device, rank: int = 0, world: int = 1) -> dict:
    """Train as one rank of `world` (1: alone); returns what the CLI prints at the end."""
    from app.train.trainer import Trainer

    trainer = Trainer(job.src_dir, job.dst_dir, job.model_dir, job.model, options=job.options,
                      general=job.general, engine=job.engine, device=device, prefix=job.prefix,
                      seed=job.seed, pretrain_dir=job.pretrain_dir, rank=rank, world=world)
    if world > 1:
        trainer.stop_requested = _STOP.is_set
    m = trainer.model
    if rank == 0:
        split = f" ({int(trainer.general['batch_size']) // world} on each of {world} " \
                "processes)" if world > 1 else ""
        print(f"{m.name}: {m.param_count() / 1e6:.1f} M parameters, {m.resolution} px "
              f"{m.face_type} face, batch {trainer.general['batch_size']}{split}, iteration "
              f"{trainer.iteration}; {len(trainer.src)} src and {len(trainer.dst)} dst faces")
        print("Enter in the preview window: save and exit; s: save; p: refresh preview; "
              "Ctrl+C: save and exit", flush=True)
    result = trainer.run(save_every_min=job.save_every_min, window=job.window)
    return {"stopped": result.stopped, "iteration": result.iteration,
            "ms_per_step": result.ms_per_step, "folder": str(trainer.files.dir)}


# ---- one machine: spawned processes ------------------------------------------------------------
def launch(job: TrainJob, devices: list[str]) -> dict:
    """Train on `devices` (torch device strings, one process each) and wait for all of them.
    A process's UserError comes back as this one's; Ctrl+C reaches every process itself."""
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory(prefix="facestudio-ddp-") as tmp:
        ctx = mp.start_processes(_worker, args=(job, devices, tmp), nprocs=len(devices),
                                 join=False, start_method="spawn")
        old = _parent_signals([p.pid for p in ctx.processes])
        try:
            while not ctx.join(timeout=0.5, grace_period=10):
                pass
        except mp.ProcessException as e:
            message = _first_error(Path(tmp))
            if message is None:
                raise RuntimeError(f"training process {e.error_index} failed: {e}") from None
            raise UserError(message) from None
        finally:
            _restore_signals(old)
        return json.loads((Path(tmp) / "result.json").read_text())


def _worker(index: int, job: TrainJob, devices: list[str], tmp: str) -> None:
    """One spawned training process (rank `index`)."""
    from backends import ddp

    _install_stop_handlers()
    device = devices[index]
    _share_cores(device, sum(d == "cpu" for d in devices))
    try:
        ddp.init(index, len(devices), os.path.join(tmp, "rendezvous"), device=device)
        result = run_job(job, device, index, len(devices))
    except UserError as e:
        Path(tmp, f"error{index}.txt").write_text(str(e), "utf-8")
        sys.exit(2)
    if index == 0:
        Path(tmp, "result.json").write_text(json.dumps(result))
    ddp.shutdown()


def _share_cores(device: str, cpu_processes: int) -> None:
    """CPU processes split the cores instead of each starting one thread per core."""
    if device == "cpu" and cpu_processes > 1:
        import torch
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // cpu_processes))


def _first_error(tmp: Path) -> str | None:
    found = sorted(tmp.glob("error*.txt"))
    return found[0].read_text("utf-8") if found else None


def _install_stop_handlers() -> None:
    """Ctrl+C / SIGTERM: finish the step, agree with the other ranks, save once."""
    def stop(signum, frame):
        _STOP.set()
    signal.signal(signal.SIGINT, stop)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, stop)


def _parent_signals(pids: list[int]) -> dict:
    """The launcher ignores Ctrl+C (the terminal sends it to every process, which each stop
    together) and passes a SIGTERM on to its processes."""
    def forward(signum, frame):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
    old = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    if hasattr(signal, "SIGTERM"):
        old[signal.SIGTERM] = signal.signal(signal.SIGTERM, forward)
    return old


def _restore_signals(old: dict) -> None:
    for sig, handler in old.items():
        signal.signal(sig, handler)


# ---- several machines: torchrun ----------------------------------------------------------------
@dataclass(frozen=True)
class TorchrunRank:
    rank: int
    world: int
    local_rank: int


def torchrun_rank() -> TorchrunRank | None:
    """This process's place when torchrun (torch.distributed.run) started it, else None."""
    env = os.environ
    if "TORCHELASTIC_RUN_ID" not in env or "RANK" not in env or "WORLD_SIZE" not in env:
        return None
    return TorchrunRank(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0)))


def torchrun_device(choice, local_rank: int) -> str:
    """This node's device for `local_rank`: the chosen GPUs in order, or the CPU."""
    devs = choice.devices
    if devs[0].kind == "cpu":
        return "cpu"
    if local_rank >= len(devs):
        raise UserError(f"torchrun started more processes on this machine than the "
                        f"{len(devs)} GPU(s) chosen: --nproc-per-node {len(devs)} or fewer")
    return devs[local_rank].torch_device


def join_torchrun(where: TorchrunRank, device: str) -> None:
    """Join torchrun's rendezvous; Ctrl+C / SIGTERM then stop every rank together."""
    from backends import ddp

    _install_stop_handlers()
    _share_cores(device, 1 if device != "cpu" else
                 int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    ddp.init(where.rank, where.world, None, device=device)


def leave_torchrun() -> None:
    from backends import ddp
    ddp.shutdown()


def from_leader(value):
    """Rank 0's `value` on every rank (the answers to the questions, asked on rank 0 only)."""
    from backends import ddp
    return ddp.broadcast_json(value)
