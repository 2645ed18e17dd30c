"""A disk cache of tinygrad's generated kernel sources, so a warm first train step skips code
generation.

Why: tinygrad 0.14 caches compiled binaries on disk (keyed on the kernel's source), but the step
before that, lowering each scheduled kernel AST to OpenCL C (`to_program`: optimisation,
linearising, rendering), is cached only in memory. For the DF-like 128 px train step that is
~280 kernels and about three quarters of a warm first step (cProfile, bench/engines.py). Here
the rendered source and launch info of every kernel is stored, keyed on tinygrad's own in-memory
cache key (`to_program_key`: the AST's hash, the renderer and the codegen settings), and on a
later run put back into tinygrad's in-memory cache before it would generate code.

Stored as JSON text in SQLite under the app's `.cache/` folder (next to tinygrad's and PoCL's
caches), never pickle. An entry is written only if the PROGRAM rebuilt from it gives exactly the
launch info and kernel signature of the one tinygrad generated, and any failure to read or rebuild
falls back to tinygrad's own code generation. Tied to tinygrad 0.14 internals (pinned); with
another version the hook is not installed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

from backends.json_store import JsonStore
from backends.opencl_loader import TINYGRAD_PIN, setup_opencl, tinygrad_is_pinned

setup_opencl()     # before tinygrad's first import: it reads its compile cache's path (CACHEDB) then

from tinygrad.engine import realize  # noqa: E402
from tinygrad.codegen import to_program, to_program_cache, to_program_key  # noqa: E402
from tinygrad.renderer import Estimates  # noqa: E402
from tinygrad.uop.ops import AddrSpace, KernelInfo, Ops, ProgramInfo, UOp  # noqa: E402

VERSION = 1                       # bump when the stored format changes


def record_key(key: tuple) -> str:
    """A stable text form of tinygrad's `to_program_key` (AST hash, renderer type and target,
    codegen settings), plus this format's and tinygrad's versions."""
    ast_key, ren_type, target, *config = key
    text = repr((VERSION, TINYGRAD_PIN, ast_key.hex(), f"{ren_type.__module__}.{ren_type.__qualname__}",
                 repr(target), tuple(repr(c) for c in config)))
    return hashlib.sha256(text.encode()).hexdigest()


def _params(prg_lin: UOp) -> list[UOp]:
    return [u for u in prg_lin.src if u.op is Ops.PARAM and u.addrspace != AddrSpace.ALU]


def to_record(prg: UOp) -> dict | None:
    """What is needed to rebuild a generated PROGRAM, or None where it is not plain enough to
    store (symbolic sizes or variables, images)."""
    info, sink = prg.arg, prg.src[0]
    est = sink.arg.estimates if isinstance(sink.arg, KernelInfo) else None
    sizes = (*info.global_size, *(info.local_size or ()))
    if info.vars or not all(type(s) is int for s in sizes) or len(prg.src) < 3 or prg.src[2].op is not Ops.SOURCE:
        return None
    if est is None or not all(type(x) is int for x in (est.ops, est.lds, est.mem)):
        return None
    return {"name": info.name, "global_size": list(info.global_size),
            "local_size": None if info.local_size is None else list(info.local_size),
            "globals": list(info.globals), "outs": list(info.outs), "ins": list(info.ins),
            "signature": [[u.arg.name, u.arg.slot] for u in _params(prg.src[1])],
            "estimates": [est.ops, est.lds, est.mem], "source": prg.src[2].arg}


def from_record(ast: UOp, renderer: Any, rec: dict) -> UOp | None:
    """A PROGRAM (SINK, LINEAR of PARAMs, SOURCE) for `ast` from a stored record, compiled by
    tinygrad's usual last step (its binary comes from tinygrad's compile cache)."""
    by_key = {(u.arg.name, u.arg.slot): u for u in ast.toposort() if u.op is Ops.PARAM and u.addrspace != AddrSpace.ALU}
    try:
        params = tuple(by_key[(n, s)] for n, s in rec["signature"])
    except KeyError:
        return None
    info = ProgramInfo(name=rec["name"], global_size=tuple(rec["global_size"]),
                       local_size=None if rec["local_size"] is None else tuple(rec["local_size"]),
                       globals=tuple(rec["globals"]), outs=tuple(rec["outs"]), ins=tuple(rec["ins"]),
                       target=renderer.target)
    sink = ast.replace(arg=replace(ast.arg, estimates=Estimates(*rec["estimates"])))
    prg = UOp(Ops.PROGRAM, src=(sink, UOp(Ops.LINEAR, src=params), UOp(Ops.SOURCE, arg=rec["source"])), arg=info)
    return to_program(prg, renderer)


def _same(a: UOp, b: UOp) -> bool:
    """Would the runtime launch both PROGRAMs identically?"""
    ea, eb = a.to_elf(), b.to_elf()
    return (a.arg == b.arg and ea.lib == eb.lib and ea.name == eb.name and ea.signature == eb.signature
            and a.src[0].arg.estimates == b.src[0].arg.estimates)


class Hook:
    """Wraps tinygrad's `lower_and_compile`: fills its in-memory program cache from the store
    before it runs and stores what it generated after."""

    def __init__(self, store: JsonStore, original):
        self.store, self.original = store, original
        self.hits = self.stored = 0

    def __call__(self, linear: UOp) -> UOp:
        todo = self._uncached(linear)
        if todo:
            self._load(todo)
        if not todo:
            self._compile_ready_programs(linear)
        out = self.original(linear)
        if todo:
            self._save({k: v for k, v in todo.items() if v[0] in to_program_cache})
        return out

    def _uncached(self, linear: UOp) -> dict[str, tuple]:
        todo: dict[str, tuple] = {}
        for c in linear.toposort():
            if c.op is not Ops.CALL or (a := realize._get_call_to_compile(c)) is None:
                continue
            ast, ren = a
            if ast.op is Ops.SINK and isinstance(ast.arg, KernelInfo) and (key := to_program_key(ast, ren)) not in to_program_cache:
                todo[record_key(key)] = (key, ast, ren)
        return todo

    @staticmethod
    def _compile_ready_programs(linear: UOp) -> None:
        """Hand-written kernels (ready source, e.g. backends/cl_gemm) in this process. Only called
        when every generated kernel came from the store (a warm run): their binaries are then in
        tinygrad's compile cache too, and tinygrad would otherwise start its worker-process pool
        just to look them up (~0.6 s of a warm first step on 2 cores)."""
        for c in linear.toposort():
            if c.op is Ops.CALL and (a := realize._get_call_to_compile(c)) is not None and a[0].op is Ops.PROGRAM:
                to_program(*a)                  # fills tinygrad's in-memory program cache

    def _load(self, todo: dict[str, tuple]) -> None:
        try:
            recs = self.store.get_many(list(todo))
        except sqlite3.Error:
            return
        for rk, rec in recs.items():
            key, ast, ren = todo[rk]
            try:
                prg = from_record(ast, ren, rec)
            except Exception:        # noqa: BLE001  a stale or odd record: tinygrad generates it
                prg = None           # and it is stored again
            if prg is not None:
                to_program_cache[key] = prg
                del todo[rk]
                self.hits += 1

    def _save(self, done: dict[str, tuple]) -> None:
        items = {}
        for rk, (key, ast, ren) in done.items():
            prg = to_program_cache[key]
            rec = to_record(prg)
            try:
                ok = rec is not None and (back := from_record(ast, ren, rec)) is not None and _same(prg, back)
            except Exception:        # noqa: BLE001
                ok = False
            if ok:
                items[rk] = rec
        try:
            self.store.put_many(items)
            self.stored += len(items)
        except sqlite3.Error:
            pass                     # read-only or full disk: the cache is only an optimisation


_hook: Hook | None = None


def install(path: Path) -> Hook | None:
    """Hook the program cache stored at `path` into tinygrad (once per process). None if this
    tinygrad is not the version the hook was written for."""
    global _hook
    if _hook is None and tinygrad_is_pinned():
        _hook = Hook(JsonStore(path, "programs"), realize.lower_and_compile)
        realize.lower_and_compile = _hook
    return _hook
