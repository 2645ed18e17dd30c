"""Inference on torch under bf16 autocast without re-casting every weight on every call."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Iterator


class LowPrecisionWeights:
    """bf16 copies of the weights that inference reads, made once and kept.

    Under bf16 autocast torch casts every fp32 weight to bf16 on every call (about 5 % of an
    H128 forward at 4 faces, more at fewer); autocast leaves a weight that is already bf16
    as it is, so handing it these copies gives the same arithmetic without the casts. Only
    conv and dense kernels (2-D and up) are cast: they go only into ops autocast runs in bf16
    anyway, while a bias or scale may meet an add that autocast keeps in fp32 (dense's
    `x @ w + b`). A copy is remade when its weight changes (torch's version counter moves).
    """

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype
        self._cache: dict[str, tuple[Any, int, Any]] = {}
        self._lock = threading.Lock()

    def wrap(self, fn: Any) -> Any:
        """`fn(F, P, batch)` reading the cached copies of `P`'s weights."""
        def run(F: Any, P: Mapping, batch: dict) -> Any:
            return fn(F, _CastView(self, P), batch)
        return run

    def get(self, name: str, weight: Any) -> Any:
        hit = self._cache.get(name)
        if hit is not None and hit[0] is weight and hit[1] == weight._version:
            return hit[2]
        with self._lock:
            cast = weight.is_floating_point() and weight.dim() >= 2
            low = weight.detach().to(self.dtype) if cast else weight
            self._cache[name] = (weight, weight._version, low)
        return low


class _CastView(Mapping):
    """The engine's parameter dict as the model reads it, with weights in low precision."""

    def __init__(self, weights: LowPrecisionWeights, params: Mapping) -> None:
        self._weights, self._params = weights, params

    def __getitem__(self, name: str) -> Any:
        return self._weights.get(name, self._params[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)
