"""What every engine offers (torch, OpenCL/tinygrad): parameters, optimizers, a train step, a
predict call and an engine-neutral state dict. Engines differ only in the primitives below."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from backends.errors import BackendError
from backends.checkpoint import load_state, save_state
from backends.layers import ParamSpec, init_params
from backends.optim import Adam, Optimizer

LossFn = Callable[[Any, dict, dict], dict]


class Engine:
    """One model's run on one device: holds the parameters `P` and optimizer state.

    Use: `P = eng.init_params(model.specs(), seed)`, `eng.set_optimizers([Adam(...)])`,
    `step = eng.train_step(loss_fn)`, `losses = step(batch)`, `eng.predict(fn, batch)`.
    """

    name = "base"
    F: Any = None          # the ops object model code receives
    offload_mode: int = 1  # see set_optimizer_offload

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.specs: dict[str, ParamSpec] = {}
        self.optimizers: list[Optimizer] = []

    # ---- parameters -------------------------------------------------------------------------
    def init_params(self, specs: dict[str, ParamSpec], seed: int = 0) -> dict[str, Any]:
        """Create parameters from a numpy init of (seed, name): the same on every engine."""
        self.specs = dict(specs)
        self.params = {k: self._param(v) for k, v in init_params(specs, seed).items()}
        if self.optimizers:
            self.set_optimizers(self.optimizers)
        return self.params

    def set_optimizers(self, optimizers: list[Optimizer] | None = None) -> None:
        """Each optimizer minimises its named loss over its parameters (default: all, Adam)."""
        optimizers = list(optimizers or [Adam()])
        seen = set()
        for o in optimizers:
            if o.name in seen:
                raise ValueError(f"two optimizers named {o.name!r}")
            seen.add(o.name)
            missing = [p for p in (o.params or []) if p not in self.params]
            if missing:
                raise ValueError(f"optimizer {o.name}: unknown parameters {missing[:5]}")
        self.optimizers = optimizers
        self._build_optimizers()

    def set_optimizer_offload(self, mode: int) -> None:
        """Where the optimizer state lives and where its update runs (DeepFaceLab's SAE
        "optimizer mode"): 1 = on the device (fastest); 2 = state kept in host RAM between steps
        and moved to the device for the update, so a net about twice as big fits in device
        memory; 3 = state kept and the update computed on the host (slowest, least device memory).

        Call it before or after `set_optimizers` and before or after `train_step`: the state
        built so far is carried over, and step functions already made follow on their next call.
        Engines whose device is the host itself (torch on the CPU) place everything in host RAM
        anyway; there modes 2 and 3 behave like 1.
        """
        if isinstance(mode, bool) or mode not in (1, 2, 3):
            raise ValueError(f"optimizer offload mode must be 1, 2 or 3, not {mode!r}")
        if mode == self.offload_mode:
            return
        kept: dict[str, np.ndarray] = {}
        for o in self.optimizers:
            kept.update(self._opt_state(o))
        self.offload_mode = mode
        if self.optimizers:
            self._build_optimizers()
            for o in self.optimizers:
                self._load_opt_state(o, kept)

    def opt_params(self, o: Optimizer) -> list[str]:
        return list(o.params) if o.params is not None else list(self.params)

    # ---- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Weights by name plus optimizer state as `opt/<name>/<param>/m|v` and `opt/<name>/step`."""
        sd = self.weights()
        for o in self.optimizers:
            sd.update(self._opt_state(o))
        return sd

    def weights(self) -> dict[str, np.ndarray]:
        """The parameters alone, by name, as float32 numpy arrays (no optimizer state)."""
        return {k: self.to_numpy(v) for k, v in self.params.items()}

    #: parameter name prefixes a file may lack (or hold in another shape): those keep their fresh
    #: init on load (SAEHD's discriminators, added or resized on a later run, as DFL does)
    fresh_prefixes: tuple[str, ...] = ()

    def load_state_dict(self, sd: dict[str, np.ndarray], path: str | Path | None = None) -> None:
        """Load weights (all must match by name and shape, but see `fresh_prefixes`) and
        whatever optimizer state matches; a missing optimizer state starts fresh (e.g.
        weights-only files). `self.started_fresh` lists the parameters left at their init."""
        fits = {k: k in sd and tuple(sd[k].shape) == tuple(self.specs[k].shape) for k in self.params}
        self.started_fresh = [k for k, ok in fits.items()
                              if not ok and k.startswith(self.fresh_prefixes or ("\0",))]
        sd = {k: v for k, v in sd.items() if k not in self.started_fresh}
        bad = [k for k in self.params if k not in sd and k not in self.started_fresh]
        bad += [f"{k} {tuple(sd[k].shape)} != {tuple(self.specs[k].shape)}" for k in self.params
                if k in sd and tuple(sd[k].shape) != tuple(self.specs[k].shape)]
        if bad:
            raise BackendError("the model file does not match this model's options (resolution, "
                            f"dims or architecture); mismatched: {', '.join(bad[:4])}"
                            + (f" and {len(bad) - 4} more" if len(bad) > 4 else ""), path)
        for k in self.params:
            if k not in self.started_fresh:
                self._assign(k, np.asarray(sd[k], np.float32))
        for o in self.optimizers:
            self._load_opt_state(o, sd)

    def assign_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Overwrite the parameters named in `weights` (same shapes), optimizer state untouched:
        e.g. a weight average in place of the training weights for inference."""
        bad = [k for k, v in weights.items()
               if k not in self.params or tuple(np.shape(v)) != tuple(self.specs[k].shape)]
        if bad:
            raise BackendError(f"weights that do not fit this model: {', '.join(bad[:4])}")
        for k, v in weights.items():
            self._assign(k, np.asarray(v, np.float32))

    def save(self, path: str | Path, metadata: dict | None = None) -> None:
        """Weights + optimizer state to a safetensors file, atomically."""
        save_state(path, self.state_dict(), metadata)

    def load(self, path: str | Path) -> dict:
        """Load a file written by `save` (by any engine); returns its metadata."""
        sd, meta = load_state(path)
        self.load_state_dict(sd, path)
        return meta

    # ---- to implement -----------------------------------------------------------------------
    def _param(self, array: np.ndarray) -> Any:
        raise NotImplementedError

    def _assign(self, name: str, array: np.ndarray) -> None:
        raise NotImplementedError

    def _build_optimizers(self) -> None:
        raise NotImplementedError

    def _opt_state(self, o: Optimizer) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _load_opt_state(self, o: Optimizer, sd: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def to_numpy(self, t: Any) -> np.ndarray:
        raise NotImplementedError

    def train_step(self, loss_fn: LossFn) -> Callable[[dict[str, np.ndarray]], dict[str, float]]:
        """Return `step(batch) -> {loss_name: float}`; `loss_fn(F, P, batch)` returns a dict of
        scalar losses, each optimizer minimising the one it names."""
        raise NotImplementedError

    def predict(self, fn: Callable, batch: dict[str, np.ndarray]) -> Any:
        """Run `fn(F, P, batch)` without gradients; tensors in the result (alone, in a tuple/list
        or dict) come back as float32 numpy arrays."""
        raise NotImplementedError

    # ---- inference tuning (what an engine knows about running itself fast) ------------------
    #: what `inference_fn` reads weights through (torch bf16: backends.torch_weight_cache)
    inference_cache: Any = None

    def inference_fn(self, fn: Callable) -> Callable:
        """`fn` as `predict` should run it many times (torch bf16: with cached bf16 weights);
        the same results as `fn`."""
        return self.inference_cache.wrap(fn) if self.inference_cache is not None else fn

    def inference_threads(self) -> int:
        """Python threads that should call `predict` side by side (each on part of a batch)."""
        return 1

    def threaded_inference(self) -> bool:
        """Whether `predict` may run in a thread other than the one that built the engine."""
        return True


def opt_key(o: Optimizer, param: str, slot: str) -> str:
    return f"opt/{o.name}/{param}/{slot}"


def step_key(o: Optimizer) -> str:
    return f"opt/{o.name}/step"


def map_tree(out: Any, conv: Callable) -> Any:
    """Apply `conv` to every leaf of nested dicts/lists/tuples (engine tensors -> numpy)."""
    if isinstance(out, dict):
        return {k: map_tree(v, conv) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return type(out)(map_tree(v, conv) for v in out)
    return conv(out)
