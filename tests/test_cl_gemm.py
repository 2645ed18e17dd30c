"""The OpenCL engine's im2col + hand-written GEMM convolution (backends/cl_gemm.py) against torch:
forward and both gradients, strided and padded, including sizes that need padding to the
kernel's register block (M not a multiple of 16, N not a multiple of 16), for each register
blocking `configure` chooses (AVX-512, AVX2, SSE vector widths)."""

import numpy as np
import pytest
import torch

from backends.devices import list_opencl

pytestmark = pytest.mark.skipif(not any(d.usable for d in list_opencl()), reason="no usable OpenCL device")


@pytest.fixture(scope="module")
def tg():
    from backends.opencl_loader import setup_opencl
    setup_opencl()
    from tinygrad import Tensor

    from backends import cl_gemm
    return Tensor, cl_gemm


@pytest.fixture(params=[16, 8, 4], ids=["avx512", "avx2", "sse"])
def blocking(tg, request):
    """cl_gemm set up for one vector width, restored afterwards."""
    _, cl_gemm = tg
    saved = cl_gemm.RM, cl_gemm.WIDE
    cl_gemm.configure(request.param)
    yield cl_gemm.RM, cl_gemm.WIDE
    cl_gemm.RM, cl_gemm.WIDE = saved


def test_blocking_fits_the_vector_registers(tg):
    _, cl_gemm = tg
    saved = cl_gemm.RM, cl_gemm.WIDE
    try:
        for width, regs in ((16, 32), (8, 16), (4, 16)):
            cl_gemm.configure(width)
            per_vec = 16 // width                      # registers one float16 takes
            nv = 2 if cl_gemm.WIDE else 1
            assert cl_gemm.RM * nv * per_vec + nv * per_vec + 1 <= regs    # C block + B row + A
        cl_gemm.configure(8)
        assert (cl_gemm.RM, cl_gemm.WIDE) == (6, False)  # the measured 6x16 AVX2 kernel
    finally:
        cl_gemm.RM, cl_gemm.WIDE = saved


@pytest.mark.parametrize("n,cin,h,cout,k,stride", [(2, 3, 9, 20, 5, 2), (3, 6, 5, 17, 3, 1)])
def test_conv_and_gradients_match_torch(tg, blocking, n, cin, h, cout, k, stride):
    Tensor, cl_gemm = tg
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, cin, h, h)).astype(np.float32)
    w = rng.standard_normal((cout, cin, k, k)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    X, W, B = (Tensor(v, device="CL").realize() for v in (x, w, b))
    y = cl_gemm.conv2d(X, W, B, stride, k // 2)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx, gw, gb = (y * Tensor(gy, device="CL")).sum().gradient(X, W, B)

    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=k // 2)
    (ty * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=2e-4, rtol=1e-4)
    np.testing.assert_allclose(gx.numpy(), tx.grad.numpy(), atol=2e-4, rtol=1e-4)
    np.testing.assert_allclose(gw.numpy(), tw.grad.numpy(), atol=5e-4, rtol=1e-4)
    np.testing.assert_allclose(gb.numpy(), tb.grad.numpy(), atol=5e-4, rtol=1e-4)


def test_gemm_path_is_used_only_where_it_pays(tg):
    _, cl_gemm = tg
    assert cl_gemm.enabled("CL", 42) and cl_gemm.enabled("CL:0", 16)
    assert not cl_gemm.enabled("CL", 3)          # to-RGB conv: tinygrad's own kernel is faster
    assert not cl_gemm.enabled("CPU", 64)
    assert not cl_gemm.enabled("CL", 64, cpu=False)   # an OpenCL GPU keeps tinygrad's kernels


@pytest.mark.parametrize("k", [3072, 3500, 2052, 1000])
def test_transposed_gemm_with_and_without_split_reduction(tg, blocking, k):
    """A^T @ B (the weight-gradient form): long reductions are split into chunks (the last one
    shorter where K does not divide) and summed, short ones copy A^T first."""
    Tensor, cl_gemm = tg
    assert (cl_gemm._chunks(k) > 1) == (k >= 3072)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((k, 40)).astype(np.float32), rng.standard_normal((k, 48)).astype(np.float32)
    c = cl_gemm.matmul(Tensor(a, device="CL").realize().T, Tensor(b, device="CL").realize()).numpy()
    np.testing.assert_allclose(c, a.T @ b, atol=1e-3, rtol=1e-4)
