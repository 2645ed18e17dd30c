"""The disk cache of tinygrad's schedules (backends/tinygrad_schedcache.py): its key is stable
across processes, a stored schedule decodes to the very graph tinygrad made, a new process
reuses it and trains exactly as without it, and a damaged record is scheduled again."""

import json
import os
import sqlite3
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from backends.devices import list_opencl
from backends.json_store import JsonStore

pytestmark = pytest.mark.skipif(not any(d.usable for d in list_opencl()), reason="no usable OpenCL device")

ROOT = Path(__file__).resolve().parent.parent

# a tiny autoencoder whose 16-channel convs and dense layers run as custom kernels (cl_gemm)
# that carry gradient functions: the case where tinygrad's own key changes from run to run
STEPS = """
import json, sys
from backends import get_engine
from backends.example import TinyAutoencoder, loss_fn, sample_batch
from backends import tinygrad_schedcache as sc
model = TinyAutoencoder(res=16, ch=16)
eng = get_engine("opencl", None)
eng.init_params(model.specs(), seed=0)
step = eng.train_step(loss_fn(model))
losses = [step(sample_batch(4, 16, seed=i))["loss"] for i in range(2)]
print(json.dumps({"losses": losses, "hits": sc._hook.hits if sc._hook else None,
                  "stored": sc._hook.stored if sc._hook else None}))
"""


@pytest.fixture()
def hooked(tmp_path, monkeypatch):
    """The engine's hook on a fresh store, every schedule worth storing, tinygrad's in-memory
    schedule cache emptied (as in a new process)."""
    from backends import opencl_engine  # noqa: F401  (installs the hook)
    from backends import tinygrad_schedcache as sc
    import tinygrad.schedule as tg_schedule
    hook = sc.install(tmp_path / "unused.sqlite")
    monkeypatch.setattr(hook, "store", JsonStore(tmp_path / "schedules.sqlite", "schedules"))
    monkeypatch.setattr(sc, "MIN_SECONDS", 0.0)
    tg_schedule.schedule_cache.clear()
    yield hook, tg_schedule.schedule_cache, tmp_path / "schedules.sqlite"
    assert tg_schedule.pm_schedule.pdict                 # still tinygrad's working pattern
    tg_schedule.schedule_cache.clear()


def _train(seed: int) -> float:
    from backends import get_engine
    from backends.example import TinyAutoencoder, loss_fn, sample_batch
    model = TinyAutoencoder(res=16, ch=16)
    eng = get_engine("opencl", None)
    eng.init_params(model.specs(), seed=0)
    return eng.train_step(loss_fn(model))(sample_batch(4, 16, seed=seed))["loss"]


def _grad_a(gc, call):
    return gc


def test_key_names_gradient_functions_instead_of_addressing_them():
    from tinygrad.dtype import dtypes
    from tinygrad.uop.ops import CallInfo, Ops, UOp
    from backends.tinygrad_schedcache import stable_key

    def call(fn):
        body = UOp(Ops.SINK, dtypes.void, ())
        return UOp(Ops.CALL, dtypes.void, (body,), CallInfo(fn, "k"))
    twin = types.FunctionType(_grad_a.__code__, globals(), "_grad_a")    # same function, new object
    twin.__qualname__ = _grad_a.__qualname__

    def other(gc, call):
        return gc
    a, b, c = call(_grad_a), call(twin), call(other)
    assert a.key != b.key                       # tinygrad's key: the function's address
    assert stable_key(a) == stable_key(b)
    assert stable_key(a) != stable_key(c)


def test_stored_schedule_decodes_to_the_same_graph(hooked):
    from backends.tinygrad_schedcache import decode
    hook, cache, db = hooked
    _train(0)
    assert hook.stored > 0
    with sqlite3.connect(db) as c:
        recs = [json.loads(v) for (v,) in c.execute("SELECT val FROM schedules")]
    in_memory = set(cache.values())
    assert all(decode(r) in in_memory for r in recs)    # hash-consed: identical graph, same object


def test_damaged_record_is_scheduled_again(hooked):
    hook, cache, db = hooked
    want = _train(1)
    with sqlite3.connect(db) as c:
        c.execute("UPDATE schedules SET val = ?", (json.dumps({"nodes": [["NOT_AN_OP", None, None, [], None]]}),))
    cache.clear()
    hits = hook.hits
    assert _train(1) == want
    assert hook.hits == hits                            # nothing usable was read
    with sqlite3.connect(db) as c:                      # and the record was replaced
        vals = [json.loads(v) for (v,) in c.execute("SELECT val FROM schedules")]
    assert vals and all(v["nodes"][0][0] != "NOT_AN_OP" for v in vals)
    cache.clear()
    assert _train(1) == want and hook.hits > hits


def test_a_new_process_reuses_the_schedule_and_trains_the_same(tmp_path):
    env = {**os.environ, "FACESTUDIO_CACHE": str(tmp_path / "cache")}

    def run(extra: dict) -> dict:
        r = subprocess.run([sys.executable, "-c", STEPS], cwd=ROOT, env={**env, **extra},
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]
        return json.loads(r.stdout.strip().splitlines()[-1])
    first = run({})
    second = run({})
    without = run({"FACESTUDIO_CL_SCHEDCACHE": "0"})
    assert first["hits"] == 0 and first["stored"] >= 1
    assert second["hits"] >= 1
    np.testing.assert_array_equal(second["losses"], first["losses"])
    np.testing.assert_array_equal(without["losses"], first["losses"])
    assert without["hits"] is None or without["hits"] == 0


def test_a_store_that_cannot_write_does_not_stop_training(hooked, monkeypatch):
    hook, cache, db = hooked
    want = _train(5)
    cache.clear()

    def refuse(items):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(hook.store, "put_many", refuse)
    monkeypatch.setattr(hook.store, "get_many", lambda keys: {})      # nothing stored either
    stored = hook.stored
    assert _train(5) == want
    assert hook.stored == stored
