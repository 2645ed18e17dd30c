"""The torch engine: CUDA, ROCm (as cuda), Intel XPU, Apple MPS and the CPU.

Speed on the CPU comes from channels_last convolutions and, where the CPU (or GPU) does bf16
natively, bf16 autocast for the convolutions and matmuls with fp32 master weights and fp32 losses,
and from malloc reusing freed memory between steps (keep_freed_memory). What is left is the
convolutions themselves: H128 batch 8 is 2.65 TFLOP per step (bench/train.py prints it).
"""

from __future__ import annotations

import functools
import os
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as TF

from backends.errors import BackendError
from backends.engine import Engine, LossFn, opt_key, step_key, map_tree
from backends.ops import Ops
from backends.optim import Optimizer, dropout_seed, lr_at
from backends.torch_adabelief import TorchAdaBelief


def _fp32_loss(fn: Callable) -> Callable:
    """Run a loss in fp32 with autocast off: bf16 DSSIM/MSE would lose the small differences
    late training depends on."""
    @functools.wraps(fn)
    def wrapper(self, *args, **kw):
        args = [a.float() if isinstance(a, torch.Tensor) else a for a in args]
        with torch.autocast(self.device_type, enabled=False):
            return fn(self, *args, **kw)
    return wrapper


class TorchOps(Ops):
    """Primitives on torch tensors."""

    def __init__(self, device: torch.device):
        self.device = device
        self.device_type = device.type
        self._consts: dict[tuple, torch.Tensor] = {}

    def conv2d(self, x, w, b=None, stride=1, padding=0, groups=1):
        return TF.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)

    def dense(self, x, w, b=None):
        y = x @ w
        return y + b if b is not None else y

    def reshape(self, x, shape):
        return x.reshape(shape)

    def depth_to_space(self, x, r=2):
        return TF.pixel_shuffle(x, r)      # same order as Ops.depth_to_space (tested), one kernel

    def space_to_depth(self, x, r=2):
        return TF.pixel_unshuffle(x, r)

    def transpose(self, x, axes):
        return x.permute(*axes)

    def concat(self, xs, axis=1):
        dt = functools.reduce(torch.promote_types, [x.dtype for x in xs])
        return torch.cat([x.to(dt) for x in xs], dim=axis)

    def leaky_relu(self, x, alpha=0.1):
        return TF.leaky_relu(x, alpha)

    def relu(self, x):
        return torch.relu(x)

    def sigmoid(self, x):
        return torch.sigmoid(x)

    def tanh(self, x):
        return torch.tanh(x)

    def sqrt(self, x):
        return torch.sqrt(x)

    def mean(self, x, axis=None, keepdims=False):
        return x.mean() if axis is None else x.mean(dim=axis, keepdim=keepdims)

    def sum(self, x, axis=None, keepdims=False):
        return x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)

    def clip(self, x, lo, hi):
        return torch.clamp(x, lo, hi)

    def exp(self, x):
        return torch.exp(x)

    def log(self, x):
        return torch.log(x)

    def avg_pool(self, x, k):
        return TF.avg_pool2d(x, k)

    def prelu(self, x, alpha):
        return TF.prelu(x, alpha)          # one kernel instead of Ops.prelu's four

    def max_pool(self, x, k, stride=None, ceil=False):
        return TF.max_pool2d(x, k, stride or k, ceil_mode=ceil)

    def const(self, array):
        key = (array.shape, array.tobytes())
        t = self._consts.get(key)
        if t is None:
            t = self._consts[key] = torch.from_numpy(np.array(array, np.float32)).to(self.device)
        return t

    def stop_gradient(self, x):
        return x.detach()

    def upsample(self, x, factor):
        return TF.interpolate(x, scale_factor=factor, mode="nearest")

    def group_norm(self, x, groups, weight=None, bias=None, eps=1e-5):
        return TF.group_norm(x, groups, weight, bias, eps)      # one kernel; same formula

    def upsample_bilinear2x(self, x):
        return TF.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    dssim = _fp32_loss(Ops.dssim)
    mse = _fp32_loss(Ops.mse)
    mae = _fp32_loss(Ops.mae)
    style_loss = _fp32_loss(Ops.style_loss)
    bce_with_logits = _fp32_loss(Ops.bce_with_logits)


def cpu_has_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX-512 BF16 or AMX); elsewhere bf16 autocast
    would be slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) and _cpu_flag_bf16()
    except Exception:
        return False


def _cpu_flag_bf16() -> bool:
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:      # not Linux: trust oneDNN's own check
        return True
    return " avx512_bf16" in text or " amx_bf16" in text


def pick_precision(device: torch.device, precision: str = "auto") -> str:
    """"bf16" where the device does it natively, else "fp32"; FACESTUDIO_PRECISION overrides."""
    precision = os.environ.get("FACESTUDIO_PRECISION", precision)
    if precision in ("fp32", "bf16"):
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "xpu":
        return "bf16"
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def cpu_threads() -> int:
    """Intra-op threads for CPU work: all cores (or OMP_NUM_THREADS), or `FACESTUDIO_THREADS`.

    Measured on 2 idle cores (training with its sample thread): 2 threads beat 1 (64 px SAE
    0.17 vs 0.29 s/step, H128 4.4 vs 7.2 s/step). But torch's OpenMP regions wait at a barrier
    for every thread, so when other programs keep the cores busy each small op waits for a
    scheduler slice: the same 64 px step took 3.1 s with 2 threads and 0.27 s with 1 beside
    another job. On a busy machine, set FACESTUDIO_THREADS to the cores left free.
    """
    env = os.environ.get("FACESTUDIO_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, torch.get_num_threads())  # all cores, or OMP_NUM_THREADS where it is set


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4     # glibc mallopt() parameters


def keep_freed_memory() -> bool:
    """Make glibc malloc keep freed blocks for reuse instead of returning them to the kernel.

    Why: a training step frees and re-allocates ~1.5 GB of activations and gradients (H128,
    batch 8). By default glibc serves each block over 32 MB (and, by its sliding threshold,
    many smaller ones) with a fresh mmap and unmaps it when freed, so the next step page-faults
    every page in again: ~400 000 faults and 0.7-0.9 s of kernel time per H128 step here. With
    mmap off and a 1 GiB trim threshold the pages are reused: ~0 faults, ~200 MB more peak RSS.
    Process-wide; only on glibc (elsewhere nothing changes). Returns True where it applied."""
    import ctypes
    import platform
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30))
    except (OSError, AttributeError):
        return False


def _is_oom(e: BaseException) -> bool:
    return isinstance(e, torch.OutOfMemoryError) or "out of memory" in str(e).lower()


class TorchEngine(Engine):
    """Engine on torch. `device`: "cpu", "cuda:0", "xpu:0", "mps"; `precision`: auto/fp32/bf16."""

    name = "torch"

    def __init__(self, device: str | torch.device = "cpu", precision: str = "auto"):
        super().__init__()
        self.device = torch.device(device)
        self.precision = pick_precision(self.device, precision)
        self.channels_last = self.device.type in ("cpu", "cuda", "xpu")
        self.F = TorchOps(self.device)
        self._opts: dict[str, torch.optim.Optimizer] = {}
        self._shadow: dict[str, torch.Tensor] = {}
        if self.precision == "bf16":
            from backends.torch_weight_cache import LowPrecisionWeights
            self.inference_cache = LowPrecisionWeights(torch.bfloat16)
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_threads())
            if os.environ.get("FACESTUDIO_MALLOC") != "default":
                keep_freed_memory()

    def __repr__(self) -> str:
        return f"TorchEngine({self.device}, {self.precision})"

    def inference_threads(self) -> int:
        """On a small CPU torch's own OpenMP threads collapse when other processes (merge's image
        workers) take a core: each op waits at a barrier for the preempted thread. Run
        single-threaded (`backends.share_cpu`), two inference threads, each with its own part
        of the batch, use both cores and just slow down (never stall) while a worker runs."""
        if self.device.type != "cpu":
            return 1
        return 2 if torch.get_num_threads() == 1 and (os.cpu_count() or 1) >= 2 else 1

    # ---- parameters -------------------------------------------------------------------------
    def _to_device(self, a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(self.device)
        if self.channels_last and t.dim() == 4:
            t = t.contiguous(memory_format=torch.channels_last)
        return t

    def _param(self, array: np.ndarray) -> torch.Tensor:
        return self._to_device(array).requires_grad_(True)

    def _assign(self, name: str, array: np.ndarray) -> None:
        with torch.no_grad():
            self.params[name].copy_(torch.from_numpy(array))
            if getattr(self, "_shadow", None) and name in self._shadow:
                self._shadow[name].copy_(torch.from_numpy(array))

    def to_numpy(self, t: Any) -> np.ndarray:
        return t.detach().float().contiguous().cpu().numpy()

    # ---- optimizers -------------------------------------------------------------------------
    def _offloads(self) -> bool:
        """Modes 2 and 3 move state off the device; on the CPU it is already in host RAM."""
        return self.offload_mode > 1 and self.device.type != "cpu"

    def _build_optimizers(self) -> None:
        self._opts = {}
        # mode 3 off the CPU: the optimizer owns fp32 host copies of the parameters ("shadows")
        self._shadow = ({n: self.params[n].detach().to("cpu", copy=True).requires_grad_(True)
                         for n in self.params} if self._offloads() and self.offload_mode == 3 else {})
        on = "cpu" if self._shadow else self.device.type
        fused = self._fused = on in ("cpu", "cuda", "xpu", "mps")
        for o in self.optimizers:
            ps = [self._opt_param(n) for n in self.opt_params(o)]
            if o.kind == "adam":
                opt = torch.optim.Adam(ps, lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, fused=fused)
            elif o.kind == "adabelief":
                opt = TorchAdaBelief(ps, lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps)
            else:
                opt = torch.optim.RMSprop(ps, lr=o.lr, alpha=o.rho, eps=o.eps,
                                          foreach=on != "cpu" or None)
            self._opts[o.name] = opt

    def _opt_param(self, name: str) -> torch.Tensor:
        """The tensor the optimizer updates: the parameter, or its host shadow in mode 3."""
        return self._shadow.get(name, self.params[name]) if self._shadow else self.params[name]

    def _state_home(self, p: torch.Tensor) -> torch.device:
        """Where a parameter's optimizer state lives between steps."""
        return torch.device("cpu") if self._offloads() else p.device

    def _move_state(self, opt: torch.optim.Optimizer, to_device: bool) -> None:
        """Mode 2: state to the device for the update, back to (pinned) host RAM after it."""
        for p, st in opt.state.items():
            for k, t in st.items():
                if not isinstance(t, torch.Tensor):
                    continue
                if to_device:
                    st[k] = t.to(p.device, non_blocking=True)
                else:
                    host = t.to("cpu")
                    st[k] = host.pin_memory() if p.device.type == "cuda" else host

    def _opt_state(self, o: Optimizer) -> dict[str, np.ndarray]:
        opt, out, step = self._opts[o.name], {}, 0
        slots = {"m": "exp_avg", "v": "exp_avg_sq"} if o.kind != "rmsprop" else {"v": "square_avg"}
        for n in self.opt_params(o):
            st = opt.state.get(self._opt_param(n))
            if not st:
                continue
            step = int(float(st["step"]))
            for slot, key in slots.items():
                out[opt_key(o, n, slot)] = self.to_numpy(st[key])
        out[step_key(o)] = np.array([step], np.int64)
        return out

    def _load_opt_state(self, o: Optimizer, sd: dict[str, np.ndarray]) -> None:
        opt = self._opts[o.name]
        slots = {"m": "exp_avg", "v": "exp_avg_sq"} if o.kind != "rmsprop" else {"v": "square_avg"}
        names = self.opt_params(o)
        if step_key(o) not in sd or not all(opt_key(o, n, s) in sd for n in names for s in slots):
            opt.state.clear()
            return
        step = float(np.asarray(sd[step_key(o)]).reshape(-1)[0])
        for n in names:
            p = self._opt_param(n)
            home = self._state_home(p)
            on = home if (o.kind == "adam" and self._fused) else "cpu"
            st = {"step": torch.tensor(step, dtype=torch.float32, device=on)}
            for slot, key in slots.items():
                st[key] = torch.empty_like(p, device=home).copy_(
                    torch.from_numpy(np.asarray(sd[opt_key(o, n, slot)], np.float32)))
            opt.state[p] = st

    # ---- steps ------------------------------------------------------------------------------
    def batch_to_device(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: self._to_device(v) if isinstance(v, np.ndarray) else v for k, v in batch.items()}

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

    def train_step(self, loss_fn: LossFn) -> Callable[[dict[str, np.ndarray]], dict[str, float]]:
        if not self.optimizers:
            self.set_optimizers()

        def step(batch: dict[str, np.ndarray]) -> dict[str, float]:
            try:
                return self._step(loss_fn, batch)
            except RuntimeError as e:
                if _is_oom(e):
                    raise BackendError(f"out of memory on {self.device}: lower the batch size, the "
                                    "model dims or the resolution") from None
                raise
        return step

    def _step(self, loss_fn: LossFn, batch: dict[str, np.ndarray]) -> dict[str, float]:
        import torch.distributed as dist

        tb = self.batch_to_device(batch)
        with self._autocast():
            losses = loss_fn(self.F, self.params, tb)
        grads: list[tuple[Optimizer, list[torch.Tensor], list]] = []
        for i, o in enumerate(self.optimizers):
            ps = [self.params[n] for n in self.opt_params(o)]
            if o.loss not in losses:
                raise KeyError(f"optimizer {o.name}: loss_fn returned no loss named {o.loss!r}")
            gs = torch.autograd.grad(losses[o.loss].float(), ps, allow_unused=True,
                                     retain_graph=i < len(self.optimizers) - 1)
            grads.append((o, ps, [torch.zeros_like(p) if g is None else g for p, g in zip(ps, gs)]))
        ddp = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        for o, ps, gs in grads:
            if ddp:
                _allreduce_mean(gs)
            self._apply(o, ps, gs)
        out = {k: v.detach().float() for k, v in losses.items()}
        if ddp:
            vals = torch.stack(list(out.values()))
            dist.all_reduce(vals)
            vals /= dist.get_world_size()
            out = dict(zip(out, vals))
        return {k: float(v) for k, v in out.items()}

    def _apply(self, o: Optimizer, ps: list[torch.Tensor], gs: list[torch.Tensor]) -> None:
        """One optimizer's update where `offload_mode` puts it (see set_optimizer_offload)."""
        opt = self._opts[o.name]
        names = self.opt_params(o)
        targets = [self._opt_param(n) for n in names] if self._shadow else ps
        for t, g in zip(targets, gs):
            t.grad = g.to(t.device, non_blocking=True) if t.device != g.device else g
        if o.clipnorm > 0:
            torch.nn.utils.clip_grad_norm_(targets, o.clipnorm)
        moved = self._offloads() and not self._shadow      # mode 2
        if moved:
            self._move_state(opt, to_device=True)
        t = self._next_step(opt, targets[0])
        for group in opt.param_groups:
            group["lr"] = lr_at(o, t)
        before = [x.detach().clone() for x in targets] if o.lr_dropout < 1 else None
        opt.step()
        if before is not None:
            _drop_updates(targets, before, o.lr_dropout, t)
        if moved:
            self._move_state(opt, to_device=False)
        for t in targets:
            t.grad = None
        if self._shadow:                                   # mode 3: new values back to the device
            with torch.no_grad():
                for p, t in zip(ps, targets):
                    p.copy_(t, non_blocking=True)

    @staticmethod
    def _next_step(opt: torch.optim.Optimizer, p: torch.Tensor) -> int:
        st = opt.state.get(p)
        return int(float(st["step"])) + 1 if st else 1

    def predict(self, fn: Callable, batch: dict[str, np.ndarray]) -> Any:
        with torch.inference_mode(), self._autocast():
            out = fn(self.F, self.params, self.batch_to_device(batch))
        return map_tree(out, self.to_numpy)


@torch.no_grad()
def _drop_updates(targets: list[torch.Tensor], before: list[torch.Tensor], keep: float,
                  step: int) -> None:
    """LR dropout: keep each weight's update with probability `keep`, undo the rest. The masks
    come from a generator seeded by (step, parameter index): a resumed run draws the same."""
    for i, (p, old) in enumerate(zip(targets, before)):
        g = torch.Generator(device=p.device).manual_seed(dropout_seed(step, i))
        mask = torch.rand(p.shape, generator=g, device=p.device) < keep
        p.copy_(torch.where(mask, p, old))


def _allreduce_mean(gs: list[torch.Tensor]) -> None:
    """Average gradients over the DDP ranks in one flat buffer (one collective per step)."""
    import torch.distributed as dist

    flat = torch.cat([g.reshape(-1) for g in gs])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    i = 0
    for g in gs:
        n = g.numel()
        g.copy_(flat[i:i + n].view(g.shape))
        i += n
