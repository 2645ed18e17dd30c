"""A disk cache of tinygrad's schedules, so a warm first train step skips scheduling.

Why: before a step's kernels run, tinygrad turns the step's tensor graph into a list of kernels
(`lower_sink_to_linear`: rangeify, kernel graph, ordering). For the DF-like train step that is
one graph of ~3,000 nodes and ~300 kernels, 3.3 s of pure-Python graph rewriting on a 2-core
host, redone by every new process: tinygrad keeps its schedule cache in memory only, keyed on
`UOp.key`, which is not stable across processes (a custom kernel's gradient function enters it
as `id()`). The schedule itself does not depend on buffers (they are PARAMs, bound after the
cache) nor on the gradient functions (gradients exist before scheduling).

So: a stable key (tinygrad's key with gradient functions named, not addressed), the schedule
written as JSON (nodes in topological order; only the argument types tinygrad uses for these
graphs, anything else is not stored), and on a later run put back into tinygrad's in-memory
cache just before tinygrad looks there. An entry is written only if decoding it gives back the
very same UOp graph (hash-consed: identical structure is the identical object), and a record that
fails to decode is ignored, so the cache can make a step faster but not different. Tied to
tinygrad 0.14 internals (pinned); with another version the hook is not installed.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import time
from pathlib import Path
from typing import Any, Callable

from backends.json_store import JsonStore
from backends.opencl_loader import TINYGRAD_PIN, setup_opencl, tinygrad_is_pinned

setup_opencl()     # before tinygrad's first import: it reads its compile cache's path (CACHEDB) then

import tinygrad.schedule as tg_schedule  # noqa: E402
from tinygrad.codegen.opt import Opt, OptOps  # noqa: E402
from tinygrad.dtype import AddrSpace, ConstFloat, DType, InvalidType  # noqa: E402
from tinygrad.helpers import SCACHE, Target  # noqa: E402
from tinygrad.renderer import Estimates  # noqa: E402
from tinygrad.uop.ops import AxisType, CallInfo, KernelInfo, Ops, ParamArg, PatternMatcher, ProgramInfo, UOp, UPat  # noqa: E402

VERSION = 1                       # bump when the stored format changes
MIN_SECONDS = 0.1                 # quicker schedules (uploads of one tensor) are not worth a record

_ENUMS = {c.__name__: c for c in (Ops, AxisType, AddrSpace, OptOps)}
_CLASSES = {c.__name__: c for c in (ParamArg, CallInfo, KernelInfo, ProgramInfo, Estimates, Opt, Target)}


class Unstorable(Exception):
    """A graph holds something this format does not write (it is then simply not cached)."""


# ---- stable key -----------------------------------------------------------------------------
def _arg_text(arg: Any) -> str:
    if isinstance(arg, CallInfo) and arg.grad_fxn is not None:
        f = arg.grad_fxn
        return repr(CallInfo(None, arg.name, arg.precompile, arg.precompile_backward)) + \
            f"grad={getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', '?')}"
    return str(arg)


def stable_key(root: UOp) -> str:
    """tinygrad's `UOp.key` (op, dtype, argument text, sources), with gradient functions by name
    and the tag included, plus this format's and tinygrad's versions."""
    keys: dict[UOp, bytes] = {}
    for u in root.toposort():
        head = str((u.op, u.dtype, _arg_text(u.arg), u.tag)).encode()
        keys[u] = hashlib.sha256(head + b"".join(keys[s] for s in u.src)).digest()
    return hashlib.sha256(f"{VERSION} {TINYGRAD_PIN}".encode() + keys[root]).hexdigest()


# ---- JSON form of a UOp graph ---------------------------------------------------------------
def _enc(x: Any) -> Any:
    if x is None or type(x) in (bool, int, str):
        return x
    if type(x) is ConstFloat:
        return {"F": float(x).hex()}
    if type(x) is float:
        return {"f": x.hex()}
    if type(x) is tuple:
        return {"t": [_enc(v) for v in x]}
    if isinstance(x, enum.Enum) and _ENUMS.get(type(x).__name__) is type(x):
        return {"e": [type(x).__name__, x.name]}
    if type(x) is DType:
        return {"d": [_enc(getattr(x, f.name)) for f in dataclasses.fields(x)]}
    if type(x) is InvalidType:
        return {"I": 1}
    if _CLASSES.get(type(x).__name__) is type(x):
        if type(x) is CallInfo and (x.grad_fxn is not None or x.aux is not None):
            raise Unstorable("a call with a gradient function or aux data")
        return {"D": [type(x).__name__, [_enc(getattr(x, f.name)) for f in dataclasses.fields(x)]]}
    raise Unstorable(f"argument of type {type(x).__name__}")


def _dec(x: Any) -> Any:
    if not isinstance(x, dict):
        if isinstance(x, list):
            raise ValueError("a bare list in a stored schedule")
        return x
    (tag, v), = x.items()
    if tag == "F":
        return ConstFloat(float.fromhex(v))
    if tag == "f":
        return float.fromhex(v)
    if tag == "t":
        return tuple(_dec(e) for e in v)
    if tag == "e":
        return _ENUMS[v[0]][v[1]]
    if tag == "d":
        return DType(*(_dec(e) for e in v))
    if tag == "I":
        return InvalidType()
    if tag == "D":
        return _CLASSES[v[0]](*(_dec(e) for e in v[1]))
    raise ValueError(f"unknown tag {tag!r} in a stored schedule")


def encode(root: UOp) -> dict:
    """Nodes in topological order as [op, dtype, arg, source indices, tag]; the root is last."""
    nodes = root.toposort()
    index = {u: i for i, u in enumerate(nodes)}
    return {"nodes": [[u.op.name, _enc(u.dtype), _enc(u.arg), [index[s] for s in u.src], _enc(u.tag)]
                      for u in nodes]}


def decode(rec: dict) -> UOp:
    built: list[UOp] = []
    for op, dtype, arg, src, tag in rec["nodes"]:
        built.append(UOp(Ops[op], _dec(dtype), tuple(built[i] for i in src), _dec(arg), _dec(tag)))
    return built[-1]


# ---- the hook -------------------------------------------------------------------------------
class Hook:
    """Stands in for tinygrad's `lower_sink_to_linear`: fills its in-memory schedule cache from
    the store before it runs, and stores what it scheduled (if that took a while) after."""

    def __init__(self, store: JsonStore, original: Callable[[UOp], UOp | None]):
        self.store, self.original = store, original
        self.hits = self.stored = 0

    def __call__(self, function: UOp) -> UOp | None:
        if isinstance(function.arg, KernelInfo) or not SCACHE or function.key in tg_schedule.schedule_cache:
            return self.original(function)
        key = stable_key(function)
        if self._load(key, function):
            return self.original(function)             # now a hit in tinygrad's own cache
        t = time.perf_counter()
        linear = self.original(function)
        if linear is not None and time.perf_counter() - t >= MIN_SECONDS:
            self._save(key, linear)
        return linear

    def _load(self, key: str, function: UOp) -> bool:
        try:
            rec = self.store.get_many([key]).get(key)
            linear = decode(rec) if rec is not None else None
        except Exception:                             # noqa: BLE001  damaged: schedule it again
            linear = None
        if linear is None or linear.op is not Ops.LINEAR:
            return False
        tg_schedule.schedule_cache[function.key] = linear
        self.hits += 1
        return True

    def _save(self, key: str, linear: UOp) -> None:
        try:
            rec = encode(linear)
            if decode(rec) is not linear:             # would not come back identical: skip
                return
            self.store.put_many({key: rec})
            self.stored += 1
        except Exception:                             # noqa: BLE001  Unstorable, a full or
            pass                                      # read-only disk: only an optimisation, it
                                                      # must never stop a train step


_hook: Hook | None = None


def _lower(function: UOp) -> UOp | None:
    """The pattern's callback (tinygrad's PatternMatcher wants a plain function)."""
    assert _hook is not None
    return _hook(function)


def install(path: Path) -> Hook | None:
    """Hook the schedule cache stored at `path` into tinygrad (once per process). None if this
    tinygrad is not the version the hook was written for."""
    global _hook
    if _hook is None and tinygrad_is_pinned():
        _hook = Hook(JsonStore(path, "schedules"), tg_schedule.lower_sink_to_linear)
        # create_linear_with_vars reads the module's `pm_schedule` at call time
        tg_schedule.pm_schedule = PatternMatcher([(UPat(Ops.SINK, name="function"), _lower)])
    return _hook
