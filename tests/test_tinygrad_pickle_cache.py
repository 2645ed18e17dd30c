"""tinygrad's own disk cache stores pickles: the app never reads it (backends.opencl_loader sets
CACHELEVEL=0), so a poisoned `cache.db` copied in runs nothing, even when the environment asks
tinygrad to use its cache."""

import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from backends.devices import list_opencl
from backends.opencl_loader import find_libopencl

pytestmark = pytest.mark.skipif(not any(d.usable for d in list_opencl()),
                                reason="no usable OpenCL device")
REPO = Path(__file__).resolve().parent.parent
COMPUTE = ("from tinygrad import Tensor; "
           "print((Tensor([1.0, 2.0, 3.0], device='CL') * 3 + 1).tolist())")


class Payload:
    """What a hostile cache entry does when unpickled: make a folder."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def run(code: str, db: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, CACHEDB=str(db), CACHELEVEL="2", OPENCL_PATH=find_libopencl(),
               PYTHONPATH=str(REPO), POCL_CACHE_DIR=str(db.parent / "pocl"))
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def poison(db: Path, marker: Path) -> int:
    """Replace every stored value with the payload; returns how many there were."""
    con = sqlite3.connect(db)
    tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    n = 0
    for t in tables:
        n += con.execute(f"UPDATE '{t}' SET val = ?", (pickle.dumps(Payload(marker)),)).rowcount
    con.commit()
    con.close()
    return n


def test_a_poisoned_tinygrad_cache_is_never_unpickled(tmp_path):
    db, marker = tmp_path / "tinygrad" / "cache.db", tmp_path / "ran"
    run(COMPUTE, db)                                       # tinygrad alone fills its cache
    assert poison(db, marker) > 0
    run(COMPUTE, db)                                       # and alone it runs the payload:
    assert marker.exists()                                 # the test can tell
    marker.rmdir()
    r = run("from backends.opencl_loader import setup_opencl; setup_opencl(); " + COMPUTE, db)
    assert r.stdout.strip() == "[4.0, 7.0, 10.0]" and not marker.exists()
