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
        """One update of every parameter with a gradient, as multi-tensor (foreach) ops: a
        handful of kernels per group instead of eight per parameter."""
        for group in self.param_groups:
            b1, b2 = group["betas"]
            ps = [p for p in group["params"] if p.grad is not None]
            if not ps:
                continue
            for p in ps:
                st = self.state[p]
                if not st:
                    st["step"] = torch.tensor(0.0)
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
            grads = [p.grad for p in ps]
            ms = [self.state[p]["exp_avg"] for p in ps]
            vs = [self.state[p]["exp_avg_sq"] for p in ps]
            torch._foreach_mul_(ms, b1)
            torch._foreach_add_(ms, grads, alpha=1 - b1)
            diff = torch._foreach_sub(grads, ms)
            torch._foreach_mul_(vs, b2)
            torch._foreach_addcmul_(vs, diff, diff, value=1 - b2)
            den = torch._foreach_sqrt(vs)
            torch._foreach_add_(den, group["eps"])
            torch._foreach_addcdiv_(ps, ms, den, value=-group["lr"])
