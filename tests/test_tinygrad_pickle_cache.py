"""tinygrad's own disk cache stores pickles: the app never reads it (backends.opencl_loader sets
CACHELEVEL=0), so a poisoned `cache.db` copied in runs nothing, even when the environment asks
tinygrad to use its cache. Compiled kernels go to backends.tinygrad_binary_cache instead: raw
bytes signed with this install's key, reused here and refused when copied from another install."""

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


def run(code: str, db: Path, key: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, CACHEDB=str(db), CACHELEVEL="2", OPENCL_PATH=find_libopencl(),
               PYTHONPATH=str(REPO), POCL_CACHE_DIR=str(db.parent / "pocl"),
               FACESTUDIO_CACHE=str(db.parent.parent / "app_cache"),
               FACESTUDIO_CACHE_KEY=str(key or db.parent / "key"))
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


ENGINE = ("import backends.opencl_engine; from backends import tinygrad_binary_cache as b; "
          + COMPUTE + "; print(b._store.hits, b._store.refused)")


def test_compiled_kernels_are_reused_only_by_the_install_that_signed_them(tmp_path):
    db = tmp_path / "tinygrad" / "cache.db"
    store = tmp_path / "app_cache" / "tinygrad" / "binaries.sqlite"
    first = run(ENGINE, db).stdout.split()
    assert first[-2:] == ["0", "0"] and store.is_file()            # compiled and stored
    again = run(ENGINE, db).stdout.splitlines()
    assert again[0] == "[4.0, 7.0, 10.0]" and int(again[1].split()[0]) > 0   # reused
    assert not db.exists()                                          # tinygrad's own: untouched
    other = run(ENGINE, db, key=tmp_path / "another_install.key").stdout.splitlines()
    hits, refused = map(int, other[1].split())
    assert other[0] == "[4.0, 7.0, 10.0]" and hits == 0 and refused > 0
    con = sqlite3.connect(store)
    assert {type(v) for (v,) in con.execute("SELECT val FROM binaries")} == {bytes}
    con.close()
