"""exp, log, softplus and the logits cross-entropy of SAEHD's discriminators: both engines
against numpy, including logits far past where a naive log(1 + e^x) overflows."""

import numpy as np
import pytest

from backends import get_engine
from backends.devices import list_opencl

HAS_CL = any(d.usable for d in list_opencl())
ENGINES = ["torch", pytest.param("opencl", marks=pytest.mark.skipif(not HAS_CL, reason="no OpenCL"))]
X = np.array([[-120.0, -3.0, -0.5, 0.0, 0.7, 4.0, 150.0]], np.float32)


@pytest.mark.parametrize("name", ENGINES)
def test_bce_with_logits_matches_numpy(name):
    eng = get_engine(name, "cpu" if name == "torch" else None)

    def fn(F, P, b):
        x = b["x"]
        return {"sp": F.softplus(x), "one": F.bce_with_logits(x, 1.0),
                "zero": F.bce_with_logits(x, 0.0), "exp": F.exp(x * 0.01), "log": F.log(F.abs(x) + 1.0)}
    got = eng.predict(fn, {"x": X})
    x = X.astype(np.float64)
    sp = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    np.testing.assert_allclose(got["sp"], sp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["one"], np.mean(sp - x), rtol=1e-5)
    np.testing.assert_allclose(got["zero"], np.mean(sp), rtol=1e-5)
    np.testing.assert_allclose(got["exp"], np.exp(x * 0.01), rtol=1e-5)
    np.testing.assert_allclose(got["log"], np.log(np.abs(x) + 1), rtol=1e-5)
