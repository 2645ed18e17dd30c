"""The OpenCL engine: the same layer API on tinygrad's OpenCL runtime (AMD, Intel, older NVIDIA
cards without a modern torch build, and PoCL on any CPU).

The whole train step (forward, gradients, optimizer updates) runs under TinyJit: traced and
compiled once, then replayed as a fixed list of OpenCL kernels. Convolutions with 16+ outputs and dense
layers run as im2col + a hand-written OpenCL GEMM (backends/cl_gemm.py), convolutions with fewer
outputs as direct kernels (backends/cl_smallconv.py): tinygrad's own conv and matmul kernels
reach ~5-15 GFLOP/s on PoCL, these 50-160. The compiled kernels (backends/tinygrad_binary_cache.py,
signed, no pickle: tinygrad's own pickle cache is off), PoCL's
binary cache, the generated kernel sources (backends/tinygrad_progcache.py) and the step's schedule
(backends/tinygrad_schedcache.py) live in the app's `.cache/` folder: without the last two a warm
first step spends most of its time in tinygrad's Python graph rewrites (code generation, then
scheduling); with them it is about one step plus 2-3 s.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable

import numpy as np

from backends.errors import BackendError
from backends.engine import Engine, LossFn, opt_key, step_key, map_tree
from backends.opencl_loader import setup_opencl
from backends.ops import Ops
from backends.optim import Optimizer, dropout_seed, lr_at, slots

setup_opencl()

from tinygrad import Tensor, TinyJit  # noqa: E402
from tinygrad.device import CompileError  # noqa: E402

from backends import cl_gemm, cl_smallconv  # noqa: E402
from backends import tinygrad_binary_cache, tinygrad_progcache, tinygrad_schedcache  # noqa: E402
from backends.opencl_loader import CACHE_DIR  # noqa: E402

tinygrad_binary_cache.install(CACHE_DIR / "tinygrad" / "binaries.sqlite")

if os.environ.get("FACESTUDIO_CL_PROGCACHE", "1") != "0":      # 0: tinygrad generates every kernel
    tinygrad_progcache.install(CACHE_DIR / "tinygrad" / "programs.sqlite")
if os.environ.get("FACESTUDIO_CL_SCHEDCACHE", "1") != "0":     # 0: tinygrad schedules every graph
    tinygrad_schedcache.install(CACHE_DIR / "tinygrad" / "schedules.sqlite")


class TinyOps(Ops):
    """Primitives on tinygrad tensors."""

    def __init__(self, device: str, cpu: bool = True):
        self.device = device
        self.cpu = cpu          # an OpenCL CPU device (PoCL): use the CPU-shaped GEMM (cl_gemm)
        self._consts: dict[tuple, Tensor] = {}

    def conv2d(self, x, w, b=None, stride=1, padding=0, groups=1):
        if groups == 1 and cl_gemm.enabled(self.device, w.shape[0], self.cpu):
            return cl_gemm.conv2d(x, w, b, stride, padding)    # im2col + tuned GEMM, see cl_gemm
        if cl_smallconv.enabled(self.device, x.shape, w.shape, stride, padding, groups, self.cpu):
            return cl_smallconv.conv2d(x, w, b)                # to-RGB/mask convs, see cl_smallconv
        return x.conv2d(w, b, groups=groups, stride=stride, padding=padding)

    def dense(self, x, w, b=None):
        if x.ndim == 2 and cl_gemm.enabled(self.device, w.shape[1], self.cpu):
            y = cl_gemm.matmul(x, w)                               # tuned GEMM, see cl_gemm
        else:
            y = x @ w
        return y + b if b is not None else y

    def reshape(self, x, shape):
        return x.reshape(shape)

    def transpose(self, x, axes):
        return x.permute(*axes)

    def concat(self, xs, axis=1):
        return xs[0].cat(*xs[1:], dim=axis)

    def leaky_relu(self, x, alpha=0.1):
        return x.leaky_relu(alpha)

    def relu(self, x):
        return x.relu()

    def sigmoid(self, x):
        # realized: the models' sigmoids are their output images and masks, read by the losses'
        # 11x11 DSSIM windows; left lazy, tinygrad fuses the sigmoid (and a custom conv's bias)
        # into those window kernels and recomputes it 121 times (0.7 s of a 128 px step)
        return x.sigmoid().contiguous()

    def tanh(self, x):
        return x.tanh()

    def sqrt(self, x):
        return x.sqrt()

    def mean(self, x, axis=None, keepdims=False):
        return x.mean(axis=axis, keepdim=keepdims)

    def sum(self, x, axis=None, keepdims=False):
        return x.sum(axis=axis, keepdim=keepdims)

    def clip(self, x, lo, hi):
        return x.clip(lo, hi)

    def exp(self, x):
        return x.exp()

    def log(self, x):
        return x.log()

    def avg_pool(self, x, k):
        return x.avg_pool2d(kernel_size=(k, k), stride=k)

    def max_pool(self, x, k, stride=None, ceil=False):
        return x.max_pool2d(kernel_size=(k, k), stride=stride or k, ceil_mode=ceil)

    def const(self, array):
        key = (array.shape, array.tobytes())
        t = self._consts.get(key)
        if t is None:
            t = self._consts[key] = Tensor(np.array(array, np.float32), device=self.device).realize()
        return t

    def stop_gradient(self, x):
        return x.detach()

    def upsample(self, x, factor):
        n, c, h, w = x.shape
        x = x.reshape(n, c, h, 1, w, 1).expand(n, c, h, factor, w, factor)
        return x.reshape(n, c, h * factor, w * factor)


class OpenCLEngine(Engine):
    """Engine on tinygrad/OpenCL. `device`: index among the working OpenCL devices
    (`python -m app devices`), or None for the system choice."""

    name = "opencl"

    def __init__(self, device: int | None = None):
        super().__init__()
        from backends.devices import opencl_tinygrad_device
        self.device, self.device_info = opencl_tinygrad_device(device)
        self.F = TinyOps(self.device, cpu=self.device_info.kind == "opencl-cpu")
        if self.F.cpu:
            cl_gemm.configure(self.device_info.extra.get("float_width", 0))
        self._state: dict[str, dict[str, Tensor]] = {}
        self._steps: dict[str, Tensor] = {}
        self._generation = 0

    def threaded_inference(self) -> bool:
        """tinygrad runs in the thread that made the engine (it was written for that)."""
        return False

    def __repr__(self) -> str:
        return f"OpenCLEngine({self.device}: {self.device_info.name})"

    def _t(self, a: np.ndarray) -> Tensor:
        return Tensor(np.ascontiguousarray(a, np.float32), device=self.device).realize()

    def _param(self, array: np.ndarray) -> Tensor:
        return self._t(array)

    def _assign(self, name: str, array: np.ndarray) -> None:
        # assign into the same buffer: a compiled train step keeps pointing at it
        self.params[name].assign(self._t(array)).realize()

    def to_numpy(self, t: Any) -> np.ndarray:
        if isinstance(t, np.ndarray):
            return t.astype(np.float32, copy=True)
        return t.float().numpy().astype(np.float32, copy=False)

    # ---- optimizers -------------------------------------------------------------------------
    # Mode 1: state in device buffers, the update fused into the compiled step. Modes 2 and 3
    # keep the state in host RAM as numpy arrays: tinygrad's own CPU device needs clang, which a
    # user's machine may lack (this one does), so the host side is numpy. The compiled step then
    # computes losses and gradients only; `_host_update` applies the optimizers after it.
    def _slots(self, o: Optimizer) -> tuple[str, ...]:
        return slots(o)

    def _build_optimizers(self) -> None:
        self._state, self._steps = {}, {}
        on_host = self.offload_mode > 1
        for o in self.optimizers:
            for n in self.opt_params(o):
                shape = self.params[n].shape
                self._state[f"{o.name}/{n}"] = {
                    s: np.zeros(shape, np.float32) if on_host else
                    Tensor.zeros(*shape, device=self.device).contiguous().realize() for s in self._slots(o)}
            self._steps[o.name] = (np.zeros(1, np.float32) if on_host else
                                   Tensor.zeros(1, device=self.device).contiguous().realize())
        self._generation += 1          # compiled steps captured the old buffers: retrace

    def _opt_state(self, o: Optimizer) -> dict[str, np.ndarray]:
        out = {}
        for n in self.opt_params(o):
            for s, t in self._state[f"{o.name}/{n}"].items():
                out[opt_key(o, n, s)] = self.to_numpy(t)
        out[step_key(o)] = np.array([int(round(float(self.to_numpy(self._steps[o.name])[0])))], np.int64)
        return out

    def _load_opt_state(self, o: Optimizer, sd: dict[str, np.ndarray]) -> None:
        names = self.opt_params(o)
        have = step_key(o) in sd and all(opt_key(o, n, s) in sd for n in names for s in self._slots(o))
        for n in names:
            for s, t in self._state[f"{o.name}/{n}"].items():
                src = np.asarray(sd[opt_key(o, n, s)], np.float32) if have else np.zeros(t.shape, np.float32)
                self._put(t, src)
        step = float(np.asarray(sd[step_key(o)]).reshape(-1)[0]) if have else 0.0
        self._put(self._steps[o.name], np.array([step], np.float32))

    def _put(self, t: Tensor | np.ndarray, src: np.ndarray) -> None:
        """Overwrite state in place (a compiled step keeps pointing at device buffers)."""
        if isinstance(t, np.ndarray):
            t[...] = src.reshape(t.shape)
        else:
            t.assign(self._t(src.reshape(t.shape))).realize()

    def _update(self, o: Optimizer, names: list[str], grads: list[Tensor]) -> list[Tensor]:
        """Mode 1: the optimizer's update as lazy assigns (same formulas as torch.optim)."""
        t = self._steps[o.name]
        t_new = t + 1
        out = [t.assign(t_new)]
        if o.clipnorm > 0:
            norm = _sum_of_squares(grads).sqrt()
            scale = (o.clipnorm / (norm + 1e-6)).minimum(1.0)
            grads = [g * scale for g in grads]
        lr: Any = o.lr
        if o.decay:                      # optim.one_cycle as tensor ops (the step is a tensor)
            s = t_new - 1
            rise = 0.04 + 0.48 * (1 - (s * (math.pi / max(1, o.warmup))).cos())
            u = ((s - o.warmup) * (1 / max(1, o.decay - o.warmup))).minimum(1.0)
            fall = 1e-4 + (1 - 1e-4) / 2 * (1 + (u * math.pi).cos())
            lr = (s < o.warmup).where(rise, fall) * o.lr
        if o.lr_cos:
            wave = ((t_new - 1) * (2 * math.pi / o.lr_cos)).cos() + 1.0
            lr = wave * (o.lr / 2) if not o.decay else lr * wave * 0.5
        for i, (n, g) in enumerate(zip(names, grads)):
            p, st = self.params[n], self._state[f"{o.name}/{n}"]
            g = g.reshape(p.shape)
            if o.kind == "adam":
                m = st["m"] * o.beta1 + g * (1 - o.beta1)
                v = st["v"] * o.beta2 + g * g * (1 - o.beta2)
                bc1 = 1 - (t_new * math.log(o.beta1)).exp()
                bc2 = 1 - (t_new * math.log(o.beta2)).exp()
                upd = m * (lr / bc1) / (v.sqrt() / bc2.sqrt() + o.eps)
                out += [st["m"].assign(m), st["v"].assign(v)]
            elif o.kind == "adabelief":
                m = st["m"] * o.beta1 + g * (1 - o.beta1)
                d = g - m
                v = st["v"] * o.beta2 + d * d * (1 - o.beta2)
                upd = m * lr / (v.sqrt() + o.eps)
                out += [st["m"].assign(m), st["v"].assign(v)]
            else:
                v = st["v"] * o.rho + g * g * (1 - o.rho)
                upd = g * lr / (v.sqrt() + o.eps)
                out.append(st["v"].assign(v))
            if o.lr_dropout < 1:
                upd = upd * self._dropout_mask(t_new, i, p.shape, o.lr_dropout)
            out.append(p.assign(p - upd))
        return out

    def _dropout_mask(self, step: Tensor, index: int, shape: tuple, keep: float) -> Tensor:
        """LR dropout's Bernoulli(keep) mask, drawn in the compiled step from tinygrad's
        threefry generator keyed by (step, parameter index): a resumed run draws the same."""
        from tinygrad import dtypes
        key = Tensor([index, 0x5AE4D], device=self.device, dtype=dtypes.uint32)
        counter = step.cast(dtypes.uint32).cat(Tensor([index], device=self.device, dtype=dtypes.uint32))
        return (Tensor._rand(key, counter, tuple(shape), dtypes.float32) < keep).float()

    def _host_update(self, o: Optimizer, names: list[str], grads: list[Tensor]) -> None:
        """Modes 2 and 3: state from host RAM. Mode 2 uploads each parameter's state, updates on
        the device and downloads it again (only one parameter's state is on the device at a
        time); mode 3 downloads the gradients and parameters and updates with numpy. LR
        dropout's masks come from numpy here (seeded by step and parameter)."""
        self._steps[o.name] += 1
        t = float(self._steps[o.name][0])
        scale = 1.0
        if o.clipnorm > 0:
            norm = math.sqrt(float(_sum_of_squares(grads).numpy()))
            scale = min(1.0, o.clipnorm / (norm + 1e-6))
        lr = lr_at(o, int(t))
        for i, (n, g) in enumerate(zip(names, grads)):
            st = self._state[f"{o.name}/{n}"]
            keep = None
            if o.lr_dropout < 1:
                rng = np.random.default_rng(dropout_seed(int(t), i))
                keep = (rng.random(self.params[n].shape) < o.lr_dropout).astype(np.float32)
            if self.offload_mode == 3:
                self._numpy_update(o, n, g.numpy() * np.float32(scale), st, t, lr, keep)
            else:
                self._device_update(o, n, g * scale if scale != 1.0 else g, st, t, lr, keep)

    def _numpy_update(self, o: Optimizer, n: str, g: np.ndarray, st: dict, t: float, lr: float,
                      keep: np.ndarray | None) -> None:
        f32 = np.float32
        p = self.params[n].numpy()
        g = g.reshape(p.shape)
        if o.kind == "adam":
            st["m"][...] = st["m"] * f32(o.beta1) + g * f32(1 - o.beta1)
            st["v"][...] = st["v"] * f32(o.beta2) + g * g * f32(1 - o.beta2)
            bc1, bc2 = f32(1 - o.beta1 ** t), f32(1 - o.beta2 ** t)
            upd = st["m"] * (f32(lr) / bc1) / (np.sqrt(st["v"]) / np.sqrt(bc2) + f32(o.eps))
        elif o.kind == "adabelief":
            st["m"][...] = st["m"] * f32(o.beta1) + g * f32(1 - o.beta1)
            d = g - st["m"]
            st["v"][...] = st["v"] * f32(o.beta2) + d * d * f32(1 - o.beta2)
            upd = st["m"] * f32(lr) / (np.sqrt(st["v"]) + f32(o.eps))
        else:
            st["v"][...] = st["v"] * f32(o.rho) + g * g * f32(1 - o.rho)
            upd = g * f32(lr) / (np.sqrt(st["v"]) + f32(o.eps))
        if keep is not None:
            upd = upd * keep
        self.params[n].assign(self._t(p - upd)).realize()

    def _device_update(self, o: Optimizer, n: str, g: Tensor, st: dict, t: float, lr: float,
                       keep: np.ndarray | None) -> None:
        p = self.params[n]
        g = g.reshape(p.shape)
        if o.kind == "adam":
            m = self._t(st["m"]) * o.beta1 + g * (1 - o.beta1)
            v = self._t(st["v"]) * o.beta2 + g * g * (1 - o.beta2)
            upd = m * (lr / (1 - o.beta1 ** t)) / (v.sqrt() / math.sqrt(1 - o.beta2 ** t) + o.eps)
            new = {"m": m, "v": v}
        elif o.kind == "adabelief":
            m = self._t(st["m"]) * o.beta1 + g * (1 - o.beta1)
            d = g - m
            v = self._t(st["v"]) * o.beta2 + d * d * (1 - o.beta2)
            upd = m * lr / (v.sqrt() + o.eps)
            new = {"m": m, "v": v}
        else:
            v = self._t(st["v"]) * o.rho + g * g * (1 - o.rho)
            upd = g * lr / (v.sqrt() + o.eps)
            new = {"v": v}
        if keep is not None:
            upd = upd * self._t(keep)
        Tensor.realize(p.assign(p - upd), *new.values())
        for k, x in new.items():
            st[k][...] = x.numpy()

    # ---- steps ------------------------------------------------------------------------------
    def _batch(self, batch: dict[str, np.ndarray]) -> dict[str, Tensor]:
        return {k: self._t(v) if isinstance(v, np.ndarray) else v for k, v in batch.items()}

    def _traced(self, loss_fn: LossFn, keys: list[str]) -> Callable:
        """The function TinyJit compiles: losses, gradients and (mode 1) the updates."""
        def traced(**batch: Tensor):
            losses = loss_fn(self.F, self.params, batch)
            grads_all = []
            for o in self.optimizers:
                names = self.opt_params(o)
                if o.loss not in losses:
                    raise KeyError(f"optimizer {o.name}: loss_fn returned no loss named {o.loss!r}")
                grads_all.append((o, names, losses[o.loss].gradient(*[self.params[n] for n in names])))
            keys[:] = list(losses)
            vec = Tensor.stack(*[losses[k].float().reshape(()) for k in keys])
            if self.offload_mode > 1:        # gradients out; the host applies the optimizers
                flat = [g.contiguous() for _, _, gs in grads_all for g in gs]
                Tensor.realize(vec, *flat)
                return vec, *flat
            updates = []
            for o, names, grads in grads_all:   # all gradients first, then the updates
                updates += self._update(o, names, list(grads))
            Tensor.realize(vec, *updates)
            return vec
        return traced

    def _run(self, jit: TinyJit, batch: dict[str, np.ndarray]) -> np.ndarray:
        out = jit(**self._batch(batch))
        if self.offload_mode == 1:
            return out.numpy()
        vec, grads = out[0].numpy(), list(out[1:])
        for o in self.optimizers:
            names = self.opt_params(o)
            self._host_update(o, names, grads[:len(names)])
            grads = grads[len(names):]
        return vec

    def train_step(self, loss_fn: LossFn) -> Callable[[dict[str, np.ndarray]], dict[str, float]]:
        if not self.optimizers:
            self.set_optimizers()
        keys: list[str] = []
        made = {"gen": -1, "jit": None}

        def step(batch: dict[str, np.ndarray]) -> dict[str, float]:
            if made["gen"] != self._generation:     # optimizers or offload mode changed
                made.update(gen=self._generation, jit=TinyJit(self._traced(loss_fn, keys)))
            try:
                vec = self._run(made["jit"], batch)
            except CompileError as e:
                raise BackendError(f"OpenCL could not compile the model on {self.device_info.name}: "
                                f"{str(e).strip().splitlines()[-1] if str(e).strip() else e}; try "
                                "another device (python -m app devices) or the torch engine") from None
            except (MemoryError, RuntimeError) as e:
                if "out of memory" in str(e).lower() or "MEM_OBJECT_ALLOCATION" in str(e) or isinstance(e, MemoryError):
                    raise BackendError(f"out of memory on {self.device_info.name}: lower the batch "
                                    "size, the model dims or the resolution") from None
                raise
            return {k: float(v) for k, v in zip(keys, vec)}
        return step

    def predict(self, fn: Callable, batch: dict[str, np.ndarray]) -> Any:
        out = fn(self.F, self.params, self._batch(batch))
        return map_tree(out, self.to_numpy)


def _sum_of_squares(grads: list[Tensor], group: int = 8) -> Tensor:
    """The squared global gradient norm. Each gradient's sum is its own kernel and the sums are
    added in groups: left lazy, tinygrad fuses every gradient of a model into one reduction
    kernel with a buffer argument per weight, which PoCL fails to link at SAEHD's size."""
    sums = [(g * g).sum().reshape(1).contiguous() for g in grads]
    while len(sums) > 1:
        sums = [Tensor.cat(*sums[i:i + group]).sum().reshape(1).contiguous()
                for i in range(0, len(sums), group)]
    return sums[0].reshape(())

