"""Optimizer descriptions, engine-neutral. Each engine implements the same update rule, so a
run can move between engines with its optimizer state (`m`, `v`, `step`) intact.

Adam (torch's formula): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
  p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
RMSprop: v = rho v + (1-rho) g^2; p -= lr * g / (sqrt(v) + eps)
AdaBelief (DeepFaceLab 2.0's, core/leras/optimizers/AdaBelief.py): m = b1 m + (1-b1) g;
  v = b2 v + (1-b2) (g - m)^2; p -= lr * m / (sqrt(v) + eps). Like DFL's there is no bias
  correction and eps (1e-6, float32's resolution) sits outside the root; the AdaBelief paper
  corrects both moments and adds eps inside v, which a resumed DFL-style run would not match.

Every optimizer also takes DeepFaceLab 2.0's two schedule knobs (used by SAEHD's LR dropout):
- `lr_dropout` < 1: each step only a random `lr_dropout` share of the weights moves (a fresh
  Bernoulli mask per weight per step; DFL's `random_binomial(p=lr_dropout)` times the update).
  The mask is a function of (optimizer step, parameter) on each engine, so a resumed run draws
  the masks an uninterrupted one would.
- `lr_cos` > 0: the step size follows (cos(2 pi (t - 1) / lr_cos) + 1) / 2 (t: this update's step,
  from 1), DFL's cosine wave of period `lr_cos` updates.

and a one-cycle schedule (the mask network's): `decay` > 0 makes the step size rise over the first
`warmup` updates from 4% of `lr` to `lr` (half a cosine), then fall by a cosine to 1e-4 `lr` at
update `decay`, and stay there. A function of the update number only, so a resumed run follows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class _Optimizer:
    """What every optimizer takes: which loss it minimises over which parameters (None = all),
    global-norm clipping (`clipnorm` > 0) and the schedule knobs of the module docstring."""

    name: str = "opt"
    loss: str = "loss"
    params: list[str] | None = None
    clipnorm: float = 0.0
    lr_dropout: float = 1.0
    lr_cos: int = 0
    warmup: int = 0
    decay: int = 0


@dataclass
class Adam(_Optimizer):
    """Adam; DeepFaceLab's defaults: lr 5e-5, beta1 0.5, beta2 0.999."""

    lr: float = 5e-5
    beta1: float = 0.5
    beta2: float = 0.999
    eps: float = 1e-7
    kind: str = field(default="adam", init=False)


@dataclass
class RMSprop(_Optimizer):
    """RMSprop; Keras defaults rho 0.9."""

    lr: float = 1e-3
    rho: float = 0.9
    eps: float = 1e-7
    kind: str = field(default="rmsprop", init=False)


@dataclass
class AdaBelief(_Optimizer):
    """AdaBelief as DeepFaceLab 2.0 runs it (see the module docstring); its defaults there:
    beta1 0.9, beta2 0.999, eps 1e-6 (SAEHD passes lr 5e-5)."""

    lr: float = 5e-5
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-6
    kind: str = field(default="adabelief", init=False)


Optimizer = Adam | RMSprop | AdaBelief


def lr_at(o: Optimizer, t: int) -> float:
    """The step size of update number `t` (from 1) under `o.lr_cos`."""
    lr = o.lr * one_cycle(o, t - 1) if o.decay else o.lr
    if not o.lr_cos:
        return lr
    return lr * (math.cos((t - 1) * 2 * math.pi / o.lr_cos) + 1.0) / 2.0


def one_cycle(o: Optimizer, s: float) -> float:
    """The one-cycle factor (module docstring) after `s` updates (from 0)."""
    if s < o.warmup:
        return 0.04 + 0.96 * (1 - math.cos(math.pi * s / o.warmup)) / 2
    u = min(1.0, (s - o.warmup) / max(1, o.decay - o.warmup))
    return 1e-4 + (1 - 1e-4) * (1 + math.cos(math.pi * u)) / 2


def slots(o: Optimizer) -> tuple[str, ...]:
    """The per-parameter state an optimizer keeps (`m`, `v`)."""
    return ("v",) if o.kind == "rmsprop" else ("m", "v")


def dropout_seed(step: int, index: int) -> int:
    """The seed of parameter `index`'s LR-dropout mask at update `step` (from 1)."""
    return (int(step) * 1_000_003 + int(index) * 7919) & 0x7FFFFFFF
