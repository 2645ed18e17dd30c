"""Direct OpenCL convolution for convs with few output channels (the models' to-RGB and to-mask
convs), with both gradients.

Why: the GEMM path (backends/cl_gemm.py) does not fit a conv with 1-3 outputs: im2col writes a
K = 25 x C times larger matrix (550 MB for a 42-channel 128 px batch of 8) for a GEMM of 3
columns. tinygrad's own kernels for it ran at 6-10 GFLOP/s on PoCL and took ~20% of a DF-like
128 px train step (bench/opencl_kernels.py). Here every work-item computes 16 neighbouring
outputs of a row (one float16) for a block of output channels by direct summation over
(input channel, ky, kx), reading the padded input with unaligned vector loads; the input
gradient is the same kernel on the padded output gradient with the kernel flipped and its
channels swapped, and the weight gradient a direct reduction per (input channel, ky, kx, image).

Covers stride 1, "same" padding (odd square kernel, padding k // 2), groups 1 and output widths
that are a multiple of 16 (`enabled`); everything else keeps tinygrad's kernels.
"""

from __future__ import annotations

import os

from tinygrad import Tensor
from tinygrad.renderer import Estimates
from tinygrad.uop.ops import UOp

from backends import cl_gemm

MAX_COUT = 15          # below the GEMM path's threshold (cl_gemm.enabled: 16 and up)

_CONV_SRC = r"""
/* Y[n, co, y, x] = sum over ci, ky, kx of X[n, ci, y + ky, x + kx] * W[co, ci, ky, kx]
   X padded: [N, CI, HP, WP]; W [COP, CI, KH, KW] (COP a multiple of COB); Y [N, COP, H, WD] */
__kernel void NAME(__global float* Y, __global const float* X, __global const float* Wt) {
  const int x0 = get_global_id(0) * 16;
  const int y = get_global_id(1);
  const int n = get_global_id(2) / NB;
  const int cb = (get_global_id(2) % NB) * COB;
  float16 acc[COB];
  #pragma unroll
  for (int c = 0; c < COB; c++) acc[c] = (float16)(0.0f);
  for (int ci = 0; ci < CI; ci++) {
    for (int ky = 0; ky < KH; ky++) {
      const __global float* row = X + ((size_t)(n * CI + ci) * HP + y + ky) * WP + x0;
      const __global float* w = Wt + ((size_t)cb * CI + ci) * KH * KW + ky * KW;
      #pragma unroll
      for (int kx = 0; kx < KW; kx++) {
        const float16 v = vload16(0, row + kx);
        #pragma unroll
        for (int c = 0; c < COB; c++) acc[c] = fma((float16)(w[c * CI * KH * KW + kx]), v, acc[c]);
      }
    }
  }
  #pragma unroll
  for (int c = 0; c < COB; c++) vstore16(acc[c], 0, Y + ((size_t)(n * COP + cb + c) * H + y) * WD + x0);
}
"""

_WGRAD_SRC = r"""
/* G[n, co, ci, ky, kx] = sum over y, x of D[n, co, y, x] * X[n, ci, y + ky, x + kx]
   (the weight gradient of one image; summed over n afterwards). D [N, CO, H, WD]. */
__kernel void NAME(__global float* G, __global const float* D, __global const float* X) {
  const int t = get_global_id(0);                 /* (ky, kx) */
  const int ci = get_global_id(1);
  const int n = get_global_id(2);
  const int ky = t / KW, kx = t % KW;
  float16 acc[CO];
  #pragma unroll
  for (int c = 0; c < CO; c++) acc[c] = (float16)(0.0f);
  for (int y = 0; y < H; y++) {
    const __global float* row = X + ((size_t)(n * CI + ci) * HP + y + ky) * WP + kx;
    const __global float* d = D + ((size_t)n * CO * H + y) * WD;
    for (int x0 = 0; x0 < WD; x0 += 16) {
      const float16 v = vload16(0, row + x0);
      #pragma unroll
      for (int c = 0; c < CO; c++) acc[c] = fma(vload16(0, d + (size_t)c * H * WD + x0), v, acc[c]);
    }
  }
  #pragma unroll
  for (int c = 0; c < CO; c++) {
    const float8 h8 = acc[c].lo + acc[c].hi;
    const float4 h4 = h8.lo + h8.hi;
    const float2 h2 = h4.lo + h4.hi;
    G[(((size_t)n * CO + c) * CI + ci) * KH * KW + t] = h2.x + h2.y;
  }
}
"""


def enabled(device: str, x_shape: tuple, w_shape: tuple, stride: int, padding: int, groups: int,
            cpu: bool = True) -> bool:
    """Use the direct kernel for this conv? On OpenCL CPU devices (PoCL) for the convs it covers
    (see the module docstring), unless FACESTUDIO_CL_CONV asks for tinygrad's own kernels here
    (`tinygrad`: for every conv; `gemm-only`: for the convs the GEMM path does not take)."""
    co, _, kh, kw = w_shape
    return (cpu and str(device).startswith("CL") and os.environ.get("FACESTUDIO_CL_CONV", "gemm") == "gemm"
            and groups == 1 and stride == 1 and kh == kw and kh % 2 == 1 and padding == kh // 2
            and co <= MAX_COUT and x_shape[3] % 16 == 0)


def conv2d(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """NCHW "same" conv, stride 1, as the direct kernel; differentiable in x and w."""
    p = w.shape[2] // 2
    xp = x.pad(((0, 0), (0, 0), (p, p), (p, p))).contiguous()
    y = _conv(xp, w.contiguous(), x.shape[2], x.shape[3], grad=True)
    return y + b.reshape(1, -1, 1, 1) if b is not None else y


def _conv(xp: Tensor, w: Tensor, h: int, wd: int, grad: bool) -> Tensor:
    """Direct conv of the padded input `xp` [N, CI, h + k - 1, wd + k - 1] with `w`."""
    n, ci, hp, wp = xp.shape
    co, _, kh, kw = w.shape
    cob = min(co, cl_gemm.RM)                      # accumulators: as the GEMM's register block
    cop = -(-co // cob) * cob
    wpad = w.pad(((0, cop - co), (0, 0), (0, 0), (0, 0))).contiguous() if cop != co else w
    name = f"dconv_{n}_{ci}_{hp}_{wp}_{cop}_{cob}_{kh}"
    defs = dict(CI=ci, HP=hp, WP=wp, H=h, WD=wd, KH=kh, KW=kw, COB=cob, COP=cop, NB=cop // cob)
    flops = 2 * n * cop * h * wd * ci * kh * kw
    est = Estimates(ops=flops, lds=4 * (xp.numel() * kh * kw * cop // cob + n * cop * h * wd),
                    mem=4 * (xp.numel() + wpad.numel() + n * cop * h * wd))
    fxn = cl_gemm._program(name, cl_gemm._defines(name, defs) + _CONV_SRC, est, (wd // 16, h, n * (cop // cob)))
    out = Tensor.empty(n, cop, h, wd, device=xp.device)
    y = out.custom_kernel(xp, wpad, fxn=fxn, grad_fxn=_grad if grad else None)[0]
    return y[:, :co] if cop != co else y


def _grad(gc: UOp, call: UOp) -> tuple:
    """dXp (the input gradient, zero-padded to the padded input's shape: the pad's own
    gradient keeps the interior) and dW."""
    _, xp_u, w_u = call.src[1:]
    g, xp, w = Tensor(gc), Tensor(xp_u), Tensor(w_u)
    n, co, h, wd = g.shape
    kh, p = w.shape[2], w.shape[2] // 2
    gp = g.pad(((0, 0), (0, 0), (p, p), (p, p))).contiguous()
    wt = w.flip((2, 3)).permute(1, 0, 2, 3).contiguous()        # [CI, CO, KH, KW]
    dx = _conv(gp, wt, h, wd, grad=False).pad(((0, 0), (0, 0), (p, p), (p, p)))
    return (None, dx.contiguous().uop, _wgrad(g.contiguous(), xp, kh).uop)


def _wgrad(g: Tensor, xp: Tensor, k: int) -> Tensor:
    n, co, h, wd = g.shape
    ci, hp, wp = xp.shape[1:]
    name = f"dconv_wgrad_{n}_{ci}_{hp}_{wp}_{co}_{k}"
    defs = dict(CO=co, CI=ci, HP=hp, WP=wp, H=h, WD=wd, KH=k, KW=k)
    est = Estimates(ops=2 * n * co * ci * k * k * h * wd, lds=4 * n * ci * k * k * h * wd * (co + 1),
                    mem=4 * (g.numel() + xp.numel() + n * co * ci * k * k))
    fxn = cl_gemm._program(name, cl_gemm._defines(name, defs) + _WGRAD_SRC, est, (k * k, ci, n))
    out = Tensor.empty(n, co, ci, k, k, device=g.device)
    return out.custom_kernel(g, xp, fxn=fxn)[0].sum(0)
