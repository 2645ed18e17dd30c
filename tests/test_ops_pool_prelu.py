"""The engine ops MTCNN added (max_pool with Caffe's ceil mode, per-channel prelu) give torch's
own functions' results on the torch and the OpenCL engine."""

import numpy as np
import torch


def test_max_pool_and_prelu_match_torch(fp32_engine):
    eng = fp32_engine
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 11, 9)).astype(np.float32)  # odd sizes: ceil mode matters
    alpha = rng.random(3).astype(np.float32)
    tx = torch.from_numpy(x)
    for k, stride, ceil in [(2, 2, True), (3, 2, True), (2, None, False), (3, 2, False)]:
        out = eng.predict(lambda F, P, b: F.max_pool(b["x"], k, stride, ceil), {"x": x})
        ref = torch.nn.functional.max_pool2d(tx, k, stride or k, ceil_mode=ceil).numpy()
        assert out.shape == ref.shape and np.array_equal(out, ref), (k, stride, ceil)
    out = eng.predict(lambda F, P, b: F.prelu(b["x"], b["a"]), {"x": x, "a": alpha})
    ref = torch.nn.functional.prelu(tx, torch.from_numpy(alpha)).numpy()
    assert np.allclose(out, ref, atol=1e-6) and (out < 0).any()
    flat = x.reshape(2, -1)[:, :3].copy()  # dense-layer outputs (N, C) too
    out = eng.predict(lambda F, P, b: F.prelu(b["x"], b["a"]), {"x": flat, "a": alpha})
    assert np.allclose(out, torch.nn.functional.prelu(torch.from_numpy(flat),
                                                      torch.from_numpy(alpha)).numpy(), atol=1e-6)
