"""Read a pickle that holds only plain values and numpy arrays, without pickle's loader.

DeepFaceLab stores each aligned face's metadata as a pickled dict. `pickle.loads` on such a
file would run whatever the file asks for (a pickle is a small program that may import and call
anything), and face sets are shared between users. So this module never hands the bytes to
pickle: it walks the opcodes with `pickletools.genops` and runs a small stack machine of its own
that builds dicts, lists, tuples, str, bytes, int, float, bool and None, plus numpy arrays,
dtypes and scalars through the few globals numpy's own pickles name. Any other global, any
object construction (NEWOBJ, INST, BUILD on something else) or persistent id refuses the whole
pickle with `NotPlainPickle` naming what it referred to ("refers to os.system").

Hand-written on purpose: no library reads pickles without executing them (restricted
`Unpickler.find_class` still runs pickle's loader and REDUCE on what it allows).
"""

from __future__ import annotations

import math
import pickletools
import struct
from typing import Any

import numpy as np

#: biggest array (elements) and output tree (values) one face's metadata may build
_MAX_ELEMENTS = 1 << 24
_MAX_NODES = 1 << 20
_MAX_DEPTH = 64


class NotPlainPickle(ValueError):
    """The pickle refers to something beyond plain values and numpy arrays, or is damaged."""


class DamagedPickle(NotPlainPickle):
    """The pickle is cut short or its opcodes do not fit together."""


class _Global:
    """A name a pickle referred to that is on the allow-list (kept symbolic, never imported)."""

    def __init__(self, kind: str):
        self.kind = kind


class _Pending:
    """An ndarray or dtype between REDUCE and BUILD (numpy's pickles set their state later)."""

    def __init__(self, kind: str, value: Any = None):
        self.kind = kind  # "array" (value: None until BUILD) or "dtype" (value: np.dtype)
        self.value = value


_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")
_ALLOWED = {
    **{(m, "_reconstruct"): "reconstruct" for m in _CORE},
    **{(m, "scalar"): "scalar" for m in _CORE},
    **{(m, "_frombuffer"): "frombuffer" for m in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("_codecs", "encode"): "encode",       # protocol 2 writes bytes as _codecs.encode(str, latin1)
    ("__builtin__", "bytes"): "bytes",     # protocol 2 writes b"" as bytes()
    ("builtins", "bytes"): "bytes",
}
_NUMERIC_KINDS = "biufc"
_MARK = object()


def load_plain(data: bytes) -> Any:
    """The value pickled in `data`; NotPlainPickle for anything else or a damaged pickle."""
    try:
        return _resolve(_run(data))
    except NotPlainPickle:
        raise
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, AttributeError,
            struct.error, UnicodeError, RecursionError, MemoryError) as exc:
        raise DamagedPickle(f"{type(exc).__name__}: {exc}"[:200]) from None


def _run(data: bytes) -> Any:
    stack: list = []
    marks: list[int] = []
    memo: dict[int, Any] = {}
    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        if name == "STOP":
            if len(stack) != 1:
                raise DamagedPickle("stack not empty at the end")
            return stack[0]
        _step(name, arg, stack, marks, memo)
    raise DamagedPickle("truncated pickle")


_CONSTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_VALUE_OPS = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT",
              "BINFLOAT", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
              "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "STRING", "BINSTRING",
              "SHORT_BINSTRING", "BYTEARRAY8"}
_IGNORED = {"PROTO", "FRAME"}


def _step(name: str, arg: Any, stack: list, marks: list[int], memo: dict) -> None:
    """Apply one opcode (the subset plain values and numpy's pickles use)."""
    if name in _IGNORED:
        return
    if name in _CONSTS:
        stack.append(_CONSTS[name])
    elif name in _VALUE_OPS:
        stack.append(bytes(arg) if isinstance(arg, (bytes, bytearray)) else arg)
    elif name == "MARK":
        marks.append(len(stack))
    elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_TUPLE"):
        stack.append({"EMPTY_LIST": list, "EMPTY_DICT": dict, "EMPTY_TUPLE": tuple}[name]())
    elif name in ("LIST", "TUPLE", "DICT", "APPENDS", "SETITEMS", "POP_MARK"):
        _marked(name, stack, _pop_mark(stack, marks))
    elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        n = int(name[-1])
        if len(stack) < n:
            raise DamagedPickle("stack underflow")
        items = tuple(stack[-n:])
        del stack[-n:]
        stack.append(items)
    elif name == "APPEND":
        item = stack.pop()
        _list(stack[-1]).append(item)
    elif name == "SETITEM":
        value, key = stack.pop(), stack.pop()
        _dict(stack[-1])[_key(key)] = value
    elif name == "POP":
        stack.pop()
    elif name == "DUP":
        stack.append(stack[-1])
    elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[arg] = stack[-1]
    elif name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif name in ("GET", "BINGET", "LONG_BINGET"):
        stack.append(memo[arg])
    elif name == "GLOBAL":
        module, _, attr = str(arg).partition(" ")
        stack.append(_global(module, attr))
    elif name == "STACK_GLOBAL":
        attr, module = stack.pop(), stack.pop()
        if not (isinstance(module, str) and isinstance(attr, str)):
            raise DamagedPickle("STACK_GLOBAL without names")
        stack.append(_global(module, attr))
    elif name == "REDUCE":
        args, func = stack.pop(), stack.pop()
        stack.append(_call(func, args))
    elif name == "BUILD":
        state = stack.pop()
        _build(stack[-1], state)
    else:  # NEWOBJ, INST, OBJ, PERSID, EXT*, sets, out-of-band buffers, ...
        raise NotPlainPickle(f"uses the pickle opcode {name}, which builds objects")


def _pop_mark(stack: list, marks: list[int]) -> list:
    if not marks:
        raise DamagedPickle("no MARK")
    at = marks.pop()
    items = stack[at:]
    del stack[at:]
    return items


def _marked(name: str, stack: list, items: list) -> None:
    if name == "LIST":
        stack.append(items)
    elif name == "TUPLE":
        stack.append(tuple(items))
    elif name == "DICT":
        stack.append(_pairs({}, items))
    elif name == "APPENDS":
        _list(stack[-1]).extend(items)
    elif name == "SETITEMS":
        _pairs(_dict(stack[-1]), items)


def _pairs(target: dict, items: list) -> dict:
    if len(items) % 2:
        raise DamagedPickle("odd number of dict items")
    for i in range(0, len(items), 2):
        target[_key(items[i])] = items[i + 1]
    return target


def _list(v: Any) -> list:
    if type(v) is not list:
        raise DamagedPickle("APPEND to something that is not a list")
    return v


def _dict(v: Any) -> dict:
    if type(v) is not dict:
        raise DamagedPickle("SETITEM on something that is not a dict")
    return v


def _key(k: Any) -> Any:
    if k is None or type(k) in (str, bytes, int, float, bool):
        return k
    raise DamagedPickle("a dict key that is not a plain value")


def _global(module: str, attr: str) -> _Global:
    kind = _ALLOWED.get((module, attr))
    if kind is None:
        raise NotPlainPickle(f"refers to {module}.{attr}"[:200])
    return _Global(kind)


# ---------------------------------------------------------------- the allowed calls

def _call(func: Any, args: Any) -> Any:
    if not isinstance(func, _Global) or type(args) is not tuple:
        raise NotPlainPickle("calls something that is not an allowed numpy or bytes function")
    kind = func.kind
    if kind == "encode":
        if len(args) != 2 or type(args[0]) is not str or args[1] not in ("latin1", "latin-1"):
            raise NotPlainPickle("calls _codecs.encode with other than (text, 'latin1')")
        return args[0].encode("latin-1")
    if kind == "bytes":
        if args not in ((),) and not (len(args) == 1 and type(args[0]) is bytes):
            raise NotPlainPickle("calls bytes() with arguments")
        return bytes(*args)
    if kind == "dtype":
        if not args or type(args[0]) is not str:
            raise NotPlainPickle("calls numpy.dtype without a type name")
        return _Pending("dtype", _numeric_dtype(np.dtype(args[0])))
    if kind == "reconstruct":
        if len(args) != 3 or not (isinstance(args[0], _Global) and args[0].kind == "ndarray"):
            raise NotPlainPickle("calls numpy's _reconstruct for something other than ndarray")
        return _Pending("array")
    if kind == "scalar":
        if len(args) != 2 or type(args[1]) is not bytes:
            raise NotPlainPickle("calls numpy's scalar without (dtype, bytes)")
        dt = _dtype_of(args[0])
        if len(args[1]) != dt.itemsize:
            _bad_size()
        return np.frombuffer(args[1], dt, 1)[0]
    if kind == "frombuffer":  # protocol 5 arrays: _frombuffer(buf, dtype, shape, order)
        if len(args) != 4 or type(args[0]) is not bytes:
            raise NotPlainPickle("calls numpy's _frombuffer without in-band bytes")
        return _array(args[0], _dtype_of(args[1]), args[2], args[3] == "F")
    raise NotPlainPickle("calls numpy.ndarray directly")


def _build(target: Any, state: Any) -> None:
    if not isinstance(target, _Pending) or type(state) is not tuple:
        raise NotPlainPickle("sets the state of an object (BUILD) that is not a numpy array")
    if target.kind == "dtype":
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        if len(state) < 4 or state[2] is not None or state[3] is not None:
            raise NotPlainPickle("uses a structured numpy dtype")
        if state[1] in ("<", ">"):
            target.value = target.value.newbyteorder(state[1])
        return
    if target.value is not None or len(state) != 5:  # (version, shape, dtype, fortran, data)
        raise DamagedPickle("numpy array state")
    _v, shape, dtype, fortran, raw = state
    if type(raw) is not bytes:
        raise NotPlainPickle("holds a numpy array of Python objects")
    target.value = _array(raw, _dtype_of(dtype), shape, bool(fortran))


def _numeric_dtype(dt: np.dtype) -> np.dtype:
    if dt.kind not in _NUMERIC_KINDS or dt.fields is not None or dt.subdtype is not None:
        raise NotPlainPickle(f"uses the numpy dtype {dt.str}, which is not a number type")
    return dt


def _dtype_of(v: Any) -> np.dtype:
    if isinstance(v, _Pending) and v.kind == "dtype":
        return v.value
    raise DamagedPickle("numpy value without a dtype")


def _array(raw: bytes, dt: np.dtype, shape: Any, fortran: bool) -> np.ndarray:
    if type(shape) is not tuple or not all(type(s) is int and s >= 0 for s in shape) \
            or len(shape) > 32:
        raise DamagedPickle("numpy array shape")
    count = math.prod(shape)
    if count > _MAX_ELEMENTS or len(raw) != count * dt.itemsize:
        _bad_size()
    return np.frombuffer(raw, dt, count).reshape(shape, order="F" if fortran else "C").copy()


def _bad_size() -> None:
    raise DamagedPickle("numpy data of the wrong size")


# ---------------------------------------------------------------- final value tree

def _resolve(value: Any) -> Any:
    """Replace finished arrays/dtypes by their values; refuse cycles, deep or huge trees."""
    budget = [_MAX_NODES]

    def walk(v: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0 or depth > _MAX_DEPTH:
            raise NotPlainPickle("metadata nested too deep or too large")
        if isinstance(v, _Pending):
            if v.kind != "array" or v.value is None:
                raise DamagedPickle("numpy array without data")
            return v.value
        if isinstance(v, _Global):
            raise NotPlainPickle("holds a function reference, not a value")
        if type(v) is dict:
            return {k: walk(x, depth + 1) for k, x in v.items()}
        if type(v) in (list, tuple):
            items = [walk(x, depth + 1) for x in v]
            return items if type(v) is list else tuple(items)
        return v

    return walk(value, 0)
