"""The disk cache of tinygrad's generated kernel sources (backends/tinygrad_progcache.py): kernels
rebuilt from it compute the same results as freshly generated ones, a damaged record falls back
to code generation, and the store holds JSON text only (no pickle)."""

import json
import sqlite3

import numpy as np
import pytest

from backends.devices import list_opencl
from backends.json_store import JsonStore

pytestmark = pytest.mark.skipif(not any(d.usable for d in list_opencl()), reason="no usable OpenCL device")


@pytest.fixture()
def hooked(tmp_path):
    """A hook on a fresh store; tinygrad's in-memory program cache emptied so that it is used."""
    from backends.opencl_loader import setup_opencl
    setup_opencl()
    from tinygrad.codegen import to_program_cache
    from tinygrad.engine import realize

    from backends import tinygrad_progcache as pc
    pc.install(tmp_path / "unused.sqlite")            # the engine's hook, if not installed yet
    saved_store = pc._hook.store
    pc._hook.store = JsonStore(tmp_path / "programs.sqlite", "programs")
    to_program_cache.clear()
    yield pc._hook, to_program_cache, tmp_path / "programs.sqlite"
    pc._hook.store = saved_store
    assert realize.lower_and_compile is pc._hook


def _compute(seed: int) -> tuple[np.ndarray, np.ndarray]:
    from tinygrad import Tensor
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((13, 29)).astype(np.float32)
    b = rng.standard_normal((29, 7)).astype(np.float32)
    ta, tb = Tensor(a, device="CL"), Tensor(b, device="CL")
    y = ((ta @ tb).leaky_relu(0.1) + ta.sum(1, keepdim=True)).exp2().mean(0)
    want = (np.where(a @ b > 0, a @ b, 0.1 * (a @ b)) + a.sum(1, keepdims=True))
    return y.numpy(), np.exp2(want).mean(0)


def test_rebuilt_kernels_match_generated(hooked):
    hook, cache, db = hooked
    got, want = _compute(0)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert hook.stored > 0
    cache.clear()                                     # as in a new process: only the store is left
    hits = hook.hits
    got, want = _compute(1)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert hook.hits > hits


def test_store_is_json_and_damage_falls_back(hooked):
    hook, cache, db = hooked
    _compute(2)
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT key, val FROM programs").fetchall()
        assert rows and all(isinstance(json.loads(v)["source"], str) for _, v in rows)
        c.execute("UPDATE programs SET val = ?", ("{not json",))
    cache.clear()
    hits = hook.hits
    got, want = _compute(3)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert hook.hits == hits                          # nothing usable was read: generated again
    with sqlite3.connect(db) as c:
        c.execute("UPDATE programs SET val = ?", (json.dumps({"signature": [["nope", 99]]}),))
    cache.clear()
    got, want = _compute(4)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    with sqlite3.connect(db) as c:                    # and the damaged records were replaced
        vals = [json.loads(v) for (v,) in c.execute("SELECT val FROM programs")]
    assert vals and all("source" in v for v in vals)
