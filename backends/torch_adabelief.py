"""DeepFaceLab 2.0's AdaBelief as a torch optimizer (the formula in backends/optim.py).

Hand-written because torch has no AdaBelief, and the `adabelief-pytorch` package implements the
paper's variant (bias correction, eps inside the second moment), which is not what DFL trains
with. State keys follow torch's Adam (`exp_avg`, `exp_avg_sq`, `step`) so the torch engine saves
and loads it like Adam's.
"""

from __future__ import annotations

import torch


class TorchAdaBelief(torch.optim.Optimizer):
    def __init__(self, params, lr: float = 5e-5, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"] = torch.tensor(0.0)
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                m, v, g = st["exp_avg"], st["exp_avg_sq"], p.grad
                m.mul_(b1).add_(g, alpha=1 - b1)
                d = g - m
                v.mul_(b2).addcmul_(d, d, value=1 - b2)
                p.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-group["lr"])
