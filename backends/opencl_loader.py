"""Find an OpenCL loader for tinygrad and keep its compile caches inside the app folder.

tinygrad loads `libOpenCL` by itself; without OPENCL_PATH it may find none or a foreign one
and fail or segfault. pyopencl wheels bundle a loader (ocl-icd) that also finds PoCL from
`pocl-binary-distribution`, so point tinygrad at that one. Must run before tinygrad is imported
(tinygrad reads CACHEDB and CACHELEVEL at import).

tinygrad's own disk cache (`cache.db`, compiled kernels and beam-search results) stores Python
pickles and unpickles whatever it finds there, so a `cache.db` copied in from elsewhere could run
code. It is switched off (CACHELEVEL=0: tinygrad neither reads nor writes it); compiled kernels
go to a signed store of raw bytes instead (tinygrad_binary_cache), and the app's stores of
generated kernel sources and schedules (tinygrad_progcache, tinygrad_schedcache) are JSON.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from backends.errors import BackendError

#: `.cache/` at the repo (or portable build) root; shipped warm in the portable build.
CACHE_DIR = Path(os.environ.get("FACESTUDIO_CACHE", Path(__file__).resolve().parent.parent / ".cache"))


#: The tinygrad whose internals the app's caches of its work hook into (tinygrad_progcache,
#: tinygrad_schedcache); with another version they stay out of the way.
TINYGRAD_PIN = "0.14.0"


def tinygrad_is_pinned() -> bool:
    """Is the installed tinygrad the version the cache hooks were written for?"""
    from importlib import metadata
    try:
        return metadata.version("tinygrad") == TINYGRAD_PIN
    except metadata.PackageNotFoundError:
        return False


def find_libopencl() -> str | None:
    """Path of the OpenCL loader bundled with pyopencl (or OPENCL_PATH if already set)."""
    if os.environ.get("OPENCL_PATH") and Path(os.environ["OPENCL_PATH"]).is_file():
        return os.environ["OPENCL_PATH"]
    try:
        import pyopencl  # noqa: F401  (importing sets up the ICD vendor search)
    except Exception:
        return None
    base = Path(pyopencl.__file__).parent
    candidates = []
    for d in (base / ".libs", base.parent / "pyopencl.libs", base / ".dylibs", base):
        if d.is_dir():
            candidates += sorted(d.glob("libOpenCL*.so*")) + sorted(d.glob("libOpenCL*.dylib")) \
                + sorted(d.glob("OpenCL*.dll")) + sorted(d.glob("opencl*.dll"))
    if candidates:
        return str(candidates[0])
    for sysp in ("/usr/lib/x86_64-linux-gnu/libOpenCL.so.1", "/usr/lib64/libOpenCL.so.1",
                 "/usr/lib/libOpenCL.so.1", "C:/Windows/System32/OpenCL.dll"):
        if Path(sysp).is_file():
            return sysp
    return None


def setup_opencl() -> str:
    """Set OPENCL_PATH and the tinygrad/PoCL cache folders; return the loader path."""
    lib = find_libopencl()
    if lib is None:
        raise BackendError("no OpenCL loader found: install the pinned requirements (pyopencl, "
                        "pocl-binary-distribution) or a GPU driver with OpenCL")
    if "tinygrad" in sys.modules and os.environ.get("OPENCL_PATH") != lib:
        # tinygrad may already have loaded the loader; only set what is still missing
        os.environ.setdefault("OPENCL_PATH", lib)
    os.environ["OPENCL_PATH"] = os.environ.get("OPENCL_PATH") or lib
    (CACHE_DIR / "tinygrad").mkdir(parents=True, exist_ok=True)
    (CACHE_DIR / "pocl").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CACHEDB", str(CACHE_DIR / "tinygrad" / "cache.db"))
    os.environ.setdefault("POCL_CACHE_DIR", str(CACHE_DIR / "pocl"))
    disable_pickle_cache()
    return os.environ["OPENCL_PATH"]


def disable_pickle_cache() -> None:
    """Keep tinygrad from ever unpickling its disk cache, whatever the environment says: the
    variable for a tinygrad imported later, the live setting for one already imported."""
    os.environ["CACHELEVEL"] = "0"
    helpers = sys.modules.get("tinygrad.helpers")
    if helpers is not None:
        helpers.CACHELEVEL.value = 0
