"""The OpenCL engine's direct convolution for few output channels (backends/cl_smallconv.py)
against torch: forward and both gradients, for to-RGB/to-mask shapes, under each register
blocking (the input gradient blocks its output channels as the GEMM blocks rows)."""

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

    from backends import cl_gemm, cl_smallconv
    return Tensor, cl_gemm, cl_smallconv


@pytest.mark.parametrize("width", [16, 8, 4], ids=["avx512", "avx2", "sse"])
@pytest.mark.parametrize("n,cin,h,w,cout,k", [(2, 42, 8, 32, 3, 5), (1, 20, 5, 16, 1, 3), (3, 7, 6, 16, 4, 1)])
def test_conv_and_gradients_match_torch(tg, width, n, cin, h, w, cout, k):
    Tensor, cl_gemm, cl_smallconv = tg
    saved = cl_gemm.RM, cl_gemm.WIDE
    cl_gemm.configure(width)
    try:
        rng = np.random.default_rng(3)
        x = rng.standard_normal((n, cin, h, w)).astype(np.float32)
        wt = rng.standard_normal((cout, cin, k, k)).astype(np.float32)
        b = rng.standard_normal(cout).astype(np.float32)
        assert cl_smallconv.enabled("CL", x.shape, wt.shape, 1, k // 2, 1)
        X, W, B = (Tensor(v, device="CL").realize() for v in (x, wt, b))
        y = cl_smallconv.conv2d(X, W, B)
        gy = rng.standard_normal(y.shape).astype(np.float32)
        gx, gw, gb = (y * Tensor(gy, device="CL")).sum().gradient(X, W, B)

        tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, wt, b))
        ty = torch.nn.functional.conv2d(tx, tw, tb, padding=k // 2)
        (ty * torch.tensor(gy)).sum().backward()
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=2e-4, rtol=1e-4)
        np.testing.assert_allclose(gx.numpy(), tx.grad.numpy(), atol=2e-4, rtol=1e-4)
        np.testing.assert_allclose(gw.numpy(), tw.grad.numpy(), atol=1e-3, rtol=1e-4)
        np.testing.assert_allclose(gb.numpy(), tb.grad.numpy(), atol=1e-3, rtol=1e-4)
    finally:
        cl_gemm.RM, cl_gemm.WIDE = saved


def test_used_only_for_the_convs_it_covers(tg):
    _, _, sc = tg
    x = (8, 42, 128, 128)
    assert sc.enabled("CL", x, (3, 42, 5, 5), 1, 2, 1)
    assert not sc.enabled("CL", x, (16, 42, 5, 5), 1, 2, 1)      # the GEMM path's
    assert not sc.enabled("CL", x, (3, 42, 5, 5), 2, 2, 1)       # strided
    assert not sc.enabled("CL", x, (3, 42, 5, 5), 1, 0, 1)       # not "same" padding
    assert not sc.enabled("CL", (8, 42, 20, 20), (3, 42, 5, 5), 1, 2, 1)   # width not 16k
    assert not sc.enabled("CL", x, (3, 42, 5, 5), 1, 2, 1, cpu=False)      # OpenCL GPU
