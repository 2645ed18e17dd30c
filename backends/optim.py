"""Optimizer descriptions, engine-neutral. Each engine implements the same update rule, so a
run can move between engines with its optimizer state (`m`, `v`, `step`) intact.

Adam (torch's formula): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
  p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
RMSprop: v = rho v + (1-rho) g^2; p -= lr * g / (sqrt(v) + eps)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Adam:
    """Minimise the loss named `loss` over the parameters `params` (None = all).
    DeepFaceLab's defaults: lr 5e-5, beta1 0.5, beta2 0.999. `clipnorm` > 0 clips the global
    gradient norm of this optimizer's parameters."""

    name: str = "opt"
    loss: str = "loss"
    params: list[str] | None = None
    lr: float = 5e-5
    beta1: float = 0.5
    beta2: float = 0.999
    eps: float = 1e-7
    clipnorm: float = 0.0
    kind: str = field(default="adam", init=False)


@dataclass
class RMSprop:
    """RMSprop over `params` minimising the loss named `loss`; Keras defaults rho 0.9."""

    name: str = "opt"
    loss: str = "loss"
    params: list[str] | None = None
    lr: float = 1e-3
    rho: float = 0.9
    eps: float = 1e-7
    clipnorm: float = 0.0
    kind: str = field(default="rmsprop", init=False)


Optimizer = Adam | RMSprop
