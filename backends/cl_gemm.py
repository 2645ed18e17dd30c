"""Convolutions for the OpenCL engine as im2col + a hand-written OpenCL GEMM.

Why: tinygrad 0.14's own kernels for convolutions and matmuls run at ~5 GFLOP/s on PoCL (CPU)
here, the conv weight gradients worst (docs in /work/shared/docs/NOTES-opencl.md). A plain
register-tiled GEMM (each work-item keeps an RM x 16 block of C in float16 vectors) runs several
times faster on PoCL, and expressing a conv as im2col + GEMM turns the forward, the input gradient
and the weight gradient all into that one kernel.

The kernel enters tinygrad's graph through `Tensor.custom_kernel` as a ready OpenCL source, so it
is part of the compiled (TinyJit) train step like any other kernel; its gradient is given as two
more GEMMs. im2col and its gradient are hand-written kernels as well: built from tinygrad movement
ops (25 shifted slices for a 5x5 conv, 25 pads in the gradient) they were slow to run and took
most of tinygrad's scheduling time in a first step. Only OpenCL devices use it (see `enabled`).
"""

from __future__ import annotations

import os

from tinygrad import Tensor
from tinygrad.renderer import Estimates
from tinygrad.uop.ops import KernelInfo, Ops, ProgramInfo, UOp

RM = 8      # rows of C per work-item; each work-item keeps an RM x (16 * NV) block of C
WIDE = True  # up to two float16 columns (NV = 2) per work-item


def configure(float_width: int) -> None:
    """Size each work-item's block of C to the CPU's vector registers (the device's native float
    vector width: 16 with AVX-512, 8 with AVX2, 4 with SSE), so that the accumulators, one row of
    B and the broadcast of A stay in registers: a float16 takes 16 / width of them, and there are
    32 (AVX-512) or 16. Set once per process, before any model is built (one OpenCL device per
    process).

    Measured on PoCL, GEMMs of the DF-like convs and their gradients: AVX-512, 8 x 32 (19 zmm)
    fastest; AVX2, 6 x 16 (15 ymm: the classic 6x16 micro-kernel) 81 GFLOP/s against 47-52 for
    8 x 32 (its 32 accumulator ymm spill). SSE, 2 x 16 (13 xmm) by the same rule, not measured.
    A width the driver did not report (0) keeps the AVX-512 blocking."""
    global RM, WIDE
    RM, WIDE = (2, False) if 0 < float_width <= 4 else (6, False) if float_width <= 8 and float_width else (8, True)

_SRC = r"""
__kernel void NAME(__global float* C, __global const float* A, __global const float* B) {
  /* rows on dimension 0: consecutive work-items share the same column strip of B (L2 reuse) */
  const int r0 = get_global_id(0) * RM;
  const int c0 = get_global_id(1) * (16 * NV);
#if TA
  /* split K: dimension 2 picks a chunk of KK rows of A and B; C has one [MM, NN] slab per chunk,
     summed afterwards. Keeps each chunk's strip of B in L2 while the row blocks pass over it. */
  const size_t s = get_global_id(2);
  A += s * KK * MM;
  B += s * KK * NN;
  C += s * MM * NN;
  const int kend = min(KK, KTOT - (int)s * KK);   /* the last chunk may be shorter */
#else
  const int kend = KK;
#endif
  float16 acc[RM][NV];
  #pragma unroll
  for (int i = 0; i < RM; i++) {
    #pragma unroll
    for (int j = 0; j < NV; j++) acc[i][j] = (float16)(0.0f);
  }
  for (int k = 0; k < kend; k++) {
    float16 b[NV];
    #pragma unroll
    for (int j = 0; j < NV; j++) b[j] = vload16(j, B + k * NN + c0);
#if TA
    const __global float* a = A + k * MM + r0;      /* op(A) = A^T, A stored [K, M] */
#define AT(i) a[i]
#else
    const __global float* a = A + r0 * KK + k;      /* A stored [M, K] */
#define AT(i) a[(i) * KK]
#endif
    #pragma unroll
    for (int i = 0; i < RM; i++) {
      const float16 av = (float16)(AT(i));
      #pragma unroll
      for (int j = 0; j < NV; j++) acc[i][j] = fma(av, b[j], acc[i][j]);
    }
  }
  #pragma unroll
  for (int i = 0; i < RM; i++) {
    #pragma unroll
    for (int j = 0; j < NV; j++) vstore16(acc[i][j], j, C + (r0 + i) * NN + c0);
  }
}
"""


def _nv(n: int) -> int:
    """Two float16 columns per work-item where the registers allow it (`configure`; measured
    1.5-3x faster for large K on PoCL with AVX-512) unless that pads N by more than ~10% over one."""
    return 2 if WIDE and _up(n, 32) <= 1.1 * _up(n, 16) else 1


def enabled(device: str, cout: int, cpu: bool = True) -> bool:
    """Use the GEMM path on OpenCL CPU devices (PoCL; `cpu`) for convs with at least 16 output
    channels, unless FACESTUDIO_CL_CONV=tinygrad asks for tinygrad's own conv kernels (for
    comparison). The kernel is shaped for a CPU (one work-item per 8 x 32 block, no local
    memory); on an OpenCL GPU tinygrad's own kernels stay in use (not measured here: no GPU).

    Measured on PoCL (bench/opencl_kernels.py, fwd + both gradients, CPU time): the GEMM path is
    3-24x faster for the DF-like encoder/decoder convs (42..2048 outputs), but 20x slower for
    the 3-channel to-RGB conv, where im2col writes a 25x larger matrix for a 3-column GEMM."""
    return (cpu and str(device).startswith("CL") and cout >= 16
            and os.environ.get("FACESTUDIO_CL_CONV", "gemm") != "tinygrad")


def _up(n: int, m: int) -> int:
    return (n + m - 1) // m * m


def _param(u: UOp) -> UOp:
    return next(x for x in u.toposort() if x.op is Ops.PARAM)


SPLIT_K = 1024   # reduction chunk for A^T @ B (weight gradients reduce over N*H*W rows)


def _chunks(k: int) -> int:
    """How many chunks of about SPLIT_K rows an A^T @ B with reduction `k` is split into; 1: not
    split, `matmul` copies A^T and runs the plain kernel instead, which measured faster below 3
    chunks (weight gradient 4608 x 672, K = 2052 on AVX2: 308 ms in 3 chunks, under 120 copied)."""
    c = round(k / SPLIT_K)
    return c if c >= 3 else 1


def _raw_gemm(a: Tensor, b: Tensor, trans_a: bool) -> Tensor:
    """C = op(a) @ b on padded, contiguous operands: op(a) [M, K] (a is [K, M] if trans_a),
    b [K, N]; M a multiple of RM and N of 16 * _nv(N). A^T @ B with a long reduction is split
    into chunks of about SPLIT_K rows and summed (no gradient: it only occurs inside gradients)."""
    k, n = b.shape
    m = a.shape[1] if trans_a else a.shape[0]
    if trans_a and _chunks(k) > 1:
        return _split_gemm(a, b, _chunks(k))
    nv = _nv(n)
    assert m % RM == 0 and n % (16 * nv) == 0, (m, n)
    name = f"gemm{'_at' if trans_a else ''}_{m}_{n}_{k}"
    src = f"#define NAME {name}\n#define RM {RM}\n#define NV {nv}\n#define MM {m}\n#define NN {n}\n" \
          f"#define KK {k}\n#define KTOT {k}\n#define TA {int(trans_a)}\n" + _SRC
    est = Estimates(ops=2 * m * n * k, lds=4 * (m * k + k * n + m * n), mem=4 * (m * k + k * n + m * n))

    fxn = _program(name, src, est, (m // RM, n // (16 * nv), 1))
    out = Tensor.empty(m, n, device=b.device)
    return out.custom_kernel(a, b, fxn=fxn, grad_fxn=_grad)[0]


def _program(name: str, src: str, est: Estimates, grid: tuple[int, int, int]):
    def fxn(c: UOp, au: UOp, bu: UOp) -> UOp:
        sink = UOp.sink(c, au, bu, arg=KernelInfo(name=name, estimates=est))
        info = ProgramInfo(name=name, global_size=grid, local_size=(1, 1, 1), globals=(0, 1, 2),
                           outs=(0,), ins=(1, 2))
        return UOp(Ops.PROGRAM, src=(sink, UOp(Ops.LINEAR, src=tuple(_param(x) for x in (c, au, bu))),
                                     UOp(Ops.SOURCE, arg=src)), arg=info)
    return fxn


def _split_gemm(a: Tensor, b: Tensor, chunks: int) -> Tensor:
    """A^T @ B as `chunks` partial products over equal slices of the reduction (the last one
    shorter where K does not divide), then their sum."""
    k, n = b.shape
    m, kk, nv = a.shape[1], -(-k // chunks), _nv(n)
    name = f"gemm_at_split_{m}_{n}_{k}"
    src = f"#define NAME {name}\n#define RM {RM}\n#define NV {nv}\n#define MM {m}\n#define NN {n}\n" \
          f"#define KK {kk}\n#define KTOT {k}\n#define TA 1\n" + _SRC
    est = Estimates(ops=2 * m * n * k, lds=4 * (m * k + k * n + chunks * m * n), mem=4 * (m * k + k * n + chunks * m * n))
    out = Tensor.empty(chunks, m, n, device=b.device)
    fxn = _program(name, src, est, (m // RM, n // (16 * nv), chunks))
    return out.custom_kernel(a, b, fxn=fxn)[0].sum(0)


def _grad(gc: UOp, call: UOp) -> tuple:
    """d(op(A) @ B): dA via gC @ B^T (or its transpose), dB via op(A)^T @ gC, both GEMMs."""
    _, a_u, b_u = call.src[1:]
    trans_a = "_at_" in call.src[0].arg.name
    g, a, b = Tensor(gc), Tensor(a_u), Tensor(b_u)
    ga = matmul(g, b.T)                              # [M, K] = op(A)'s gradient
    ga = ga.T if trans_a else ga
    gb = matmul(a if trans_a else a.T, g)            # op(A)^T @ gC
    return (None, ga.contiguous().uop, gb.contiguous().uop)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a [M, K] @ b [K, N] with the OpenCL GEMM, differentiable. A transposed view `a` (a.T of a
    stored [K, M] tensor) with a long reduction is read in place (split into chunks) rather than
    copied."""
    m, n = a.shape[0], b.shape[1]
    mp, np_ = _up(m, RM), _up(n, 16 * _nv(n))
    trans_a = _is_transposed(a)
    if trans_a and _chunks(a.shape[1]) == 1:
        # a short reduction is not split (see _raw_gemm), and reading A^T in place then touches
        # a cache line per k for a few floats of it: a copy first was 1.4-2.3x faster on PoCL
        # (AVX2; 4608x1026x2048: 570 -> 243 ms with the copy included)
        a, trans_a = a.contiguous(), False
    if trans_a:
        a_store = a.T.pad(((0, 0), (0, mp - m))) if mp != m else a.T
    else:
        a_store = a.pad(((0, mp - m), (0, 0))) if mp != m else a
    b_store = b.pad(((0, 0), (0, np_ - n))) if np_ != n else b
    c = _raw_gemm(a_store.contiguous(), b_store.contiguous(), trans_a)
    return c[:m, :n] if (mp, np_) != (m, n) else c


def _is_transposed(a: Tensor) -> bool:
    return a.uop.op is Ops.PERMUTE and a.uop.arg == (1, 0)


def conv2d(x: Tensor, w: Tensor, b: Tensor | None, stride: int, padding: int) -> Tensor:
    """NCHW conv (OIHW weights, groups 1) as im2col + GEMM.

    K is ordered (ky, kx, C): C innermost. The input is made NHWC first (where the producer is
    itself a GEMM output, already its memory order; its elementwise ops fuse into that copy),
    then im2col and its gradient (col2im) are hand-written kernels too (see `im2col`). The output
    is the GEMM's [N*Ho*Wo, Cout], i.e. NHWC, viewed as NCHW."""
    n, c, h, wd = x.shape
    co, ci, kh, kw = w.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    m, k = n * ho * wo, kh * kw * ci
    if os.environ.get("FACESTUDIO_CL_IM2COL", "kernel") == "tinygrad":
        col = _im2col_tinygrad(x, kh, kw, stride, padding, ho, wo)
        y = matmul(col, w.permute(0, 2, 3, 1).reshape(co, k).T)                # [N*Ho*Wo, Cout]
    else:
        col = im2col(x.permute(0, 2, 3, 1).contiguous(), kh, kw, stride, padding)  # [Mp, K]
        wm = w.permute(0, 2, 3, 1).reshape(co, k).T
        np_ = _up(co, 16 * _nv(co))
        wm = wm.pad(((0, 0), (0, np_ - co))) if np_ != co else wm
        y = _raw_gemm(col, wm.contiguous(), False)[:m, :co]
    if b is not None:
        y = y + b.reshape(1, co)
    return y.reshape(n, ho, wo, co).permute(0, 3, 1, 2)


def _im2col_tinygrad(x: Tensor, kh: int, kw: int, stride: int, padding: int, ho: int, wo: int) -> Tensor:
    """im2col from tinygrad movement ops (FACESTUDIO_CL_IM2COL=tinygrad, for comparison)."""
    n, c = x.shape[:2]
    xh = x.permute(0, 2, 3, 1)
    if padding:
        xh = xh.pad(((0, 0), (padding, padding), (padding, padding), (0, 0)))
    cols = [xh[:, dy:dy + (ho - 1) * stride + 1:stride, dx:dx + (wo - 1) * stride + 1:stride, :]
            for dy in range(kh) for dx in range(kw)]
    return Tensor.stack(*cols, dim=3).reshape(n * ho * wo, kh * kw * c)


_GEOM = r"""
#define TAPS (KH * KW)
#define KK (TAPS * CC)
"""

_IM2COL_SRC = _GEOM + r"""
/* one work-item per (row of col, tap): copies the CC channels of one input pixel (or zeros) */
__kernel void NAME(__global float* col, __global const float* x) {
  const int m = get_global_id(0);
  const int t = get_global_id(1);
  __global float* dst = col + (size_t)m * KK + t * CC;
  int iy = -1, ix = -1, n = 0;
  if (m < MM) {
    n = m / (HO * WO);
    const int r = m - n * (HO * WO);
    iy = (r / WO) * SS - PP + t / KW;
    ix = (r % WO) * SS - PP + t % KW;
  }
  if (iy < 0 || iy >= HH || ix < 0 || ix >= WW) {
    for (int c = 0; c < CC; c++) dst[c] = 0.0f;
    return;
  }
  const __global float* src = x + (((size_t)n * HH + iy) * WW + ix) * CC;
  for (int c = 0; c < CC; c++) dst[c] = src[c];
}
"""

_COL2IM_SRC = _GEOM + r"""
/* gradient of im2col: one work-item per input pixel sums its CC channels over the taps that read it */
__kernel void NAME(__global float* gx, __global const float* gcol) {
  const int p = get_global_id(0);
  if (p >= NN * HH * WW) return;
  const int n = p / (HH * WW), r = p - n * (HH * WW);
  const int iy = r / WW, ix = r % WW;
  __global float* dst = gx + (size_t)p * CC;
  for (int c = 0; c < CC; c++) dst[c] = 0.0f;
  for (int ky = 0; ky < KH; ky++) {
    const int ty = iy + PP - ky;
    if (ty < 0 || ty % SS != 0 || ty / SS >= HO) continue;
    for (int kx = 0; kx < KW; kx++) {
      const int tx = ix + PP - kx;
      if (tx < 0 || tx % SS != 0 || tx / SS >= WO) continue;
      const __global float* src = gcol + ((size_t)((n * HO + ty / SS) * WO + tx / SS)) * KK + (ky * KW + kx) * CC;
      for (int c = 0; c < CC; c++) dst[c] += src[c];
    }
  }
}
"""

GROUP = 8    # work-items per work-group in im2col/col2im (PoCL runs a group as one loop)


def _geometry(x_shape: tuple, kh: int, kw: int, stride: int, padding: int) -> dict:
    n, h, wd, c = x_shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    return {"NN": n, "HH": h, "WW": wd, "CC": c, "KH": kh, "KW": kw, "SS": stride, "PP": padding,
            "HO": ho, "WO": wo, "MM": n * ho * wo}


def _defines(name: str, g: dict) -> str:
    return f"#define NAME {name}\n" + "".join(f"#define {k} {v}\n" for k, v in g.items())


def _tag(g: dict) -> str:
    return "_".join(str(g[k]) for k in ("NN", "HH", "WW", "CC", "KH", "KW", "SS", "PP"))


def im2col(xh: Tensor, kh: int, kw: int, stride: int, padding: int) -> Tensor:
    """NHWC input [N, H, W, C] -> col [Mp, kh*kw*C] (rows (n, oy, ox), K ordered (ky, kx, C);
    rows past N*Ho*Wo, up to a multiple of RM, are zeros for the GEMM). Differentiable."""
    g = _geometry(tuple(xh.shape), kh, kw, stride, padding)
    mp, k = _up(g["MM"], RM), kh * kw * g["CC"]
    name = f"im2col_{_tag(g)}"
    est = Estimates(ops=0, lds=4 * (mp * k + g["MM"] * k), mem=4 * (mp * k + xh.numel()))
    fxn = _program2(name, _defines(name, g) + _IM2COL_SRC, est, (mp // RM, kh * kw, 1), (RM, 1, 1))
    out = Tensor.empty(mp, k, device=xh.device)
    return out.custom_kernel(xh, fxn=fxn, grad_fxn=_im2col_grad)[0]


def _im2col_grad(gc: UOp, call: UOp) -> tuple:
    g = _parse_tag(call.src[0].arg.name)
    return (None, col2im(Tensor(gc).contiguous(), g).uop)


def _parse_tag(name: str) -> dict:
    vals = [int(v) for v in name.split("_")[-8:]]
    n, h, wd, c, kh, kw, s, p = vals
    return _geometry((n, h, wd, c), kh, kw, s, p)


def col2im(gcol: Tensor, g: dict) -> Tensor:
    """Gradient of `im2col`: [Mp, K] -> NHWC [N, H, W, C]."""
    total = g["NN"] * g["HH"] * g["WW"]
    name = f"col2im_{_tag(g)}"
    k = g["KH"] * g["KW"] * g["CC"]
    est = Estimates(ops=g["MM"] * k, lds=4 * (g["MM"] * k + total * g["CC"]), mem=4 * (g["MM"] * k + total * g["CC"]))
    fxn = _program2(name, _defines(name, g) + _COL2IM_SRC, est, (-(-total // GROUP), 1, 1), (GROUP, 1, 1))
    out = Tensor.empty(g["NN"], g["HH"], g["WW"], g["CC"], device=gcol.device)
    return out.custom_kernel(gcol, fxn=fxn)[0]


def _program2(name: str, src: str, est: Estimates, groups: tuple[int, int, int], local: tuple[int, int, int]):
    """A two-buffer (out, in) OpenCL program: `groups` work-groups of `local` work-items."""
    def fxn(o: UOp, i: UOp) -> UOp:
        sink = UOp.sink(o, i, arg=KernelInfo(name=name, estimates=est))
        info = ProgramInfo(name=name, global_size=groups, local_size=local, globals=(0, 1), outs=(0,), ins=(1,))
        return UOp(Ops.PROGRAM, src=(sink, UOp(Ops.LINEAR, src=tuple(_param(x) for x in (o, i))),
                                     UOp(Ops.SOURCE, arg=src)), arg=info)
    return fxn
