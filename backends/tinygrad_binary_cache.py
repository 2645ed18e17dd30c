"""tinygrad's compiled-kernel cache without pickle, and only for kernels this install compiled.

tinygrad 0.14 keeps compiled kernels in `cache.db` through `diskcache_get`/`diskcache_put`,
which unpickle whatever they find: a `cache.db` copied in from elsewhere could run code.
opencl_loader switches that cache off (CACHELEVEL=0). Without a disk cache of compiled kernels
a warm first train step recompiles every kernel (~20 s more for the 64 px DF-like step on PoCL),
so this module gives `Compiler.compile_cached` (tinygrad.device's two names) a store of its own:

- raw bytes in SQLite (`.cache/tinygrad/binaries.sqlite`), keyed by the compiler's cache key and
  the kernel source's SHA-256; only bytes are stored, nothing is unpickled;
- each entry signed with HMAC-SHA256 under a random key made on first use and kept outside the
  app folder (platformdirs' user config folder, `facestudio/kernel-cache.key`; env
  FACESTUDIO_CACHE_KEY names another file). A compiled kernel is native code for PoCL, so an
  entry that does not verify, from a store copied in from another install or edited, is ignored
  and the kernel compiled again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from pathlib import Path

from backends.opencl_loader import setup_opencl, tinygrad_is_pinned

setup_opencl()

import tinygrad.device as tg_device  # noqa: E402

KEY_ENV = "FACESTUDIO_CACHE_KEY"
_store: "BinaryStore | None" = None


def key_path() -> Path:
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    import platformdirs
    return Path(platformdirs.user_config_dir("facestudio", appauthor=False)) / "kernel-cache.key"


def install_key(path: Path | None = None) -> bytes:
    """This install's signing key, made (readable by the user only) on first use."""
    path = path or key_path()
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    os.replace(tmp, path)
    return key


class BinaryStore:
    """(table, source) -> compiled bytes, each row signed with this install's key."""

    def __init__(self, path: Path, key: bytes):
        self.path, self.key = Path(path), key
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.hits = self.refused = 0

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS binaries (key TEXT PRIMARY KEY, "
                             "val BLOB NOT NULL, mac BLOB NOT NULL)")
            self._db.commit()
        return self._db

    @staticmethod
    def row_key(table: str, src) -> str:
        text = src if isinstance(src, str) else repr(src)
        return f"{table}:{hashlib.sha256(text.encode()).hexdigest()}"

    def _mac(self, key: str, val: bytes) -> bytes:
        return hmac.new(self.key, key.encode() + b"\0" + val, hashlib.sha256).digest()

    def get(self, table: str, src) -> bytes | None:
        k = self.row_key(table, src)
        with self._lock:
            row = self._conn().execute("SELECT val, mac FROM binaries WHERE key = ?", (k,)).fetchone()
        if row is None:
            return None
        val, mac = bytes(row[0]), bytes(row[1])
        if not hmac.compare_digest(mac, self._mac(k, val)):
            self.refused += 1
            return None
        self.hits += 1
        return val

    def put(self, table: str, src, val) -> None:
        if not isinstance(val, bytes):
            return                      # only compiled kernels; nothing that needs pickling
        k = self.row_key(table, src)
        with self._lock:
            db = self._conn()
            db.execute("REPLACE INTO binaries (key, val, mac) VALUES (?, ?, ?)",
                       (k, val, self._mac(k, val)))
            db.commit()


def _get(table: str, key):
    try:
        return _store.get(table, key) if _store is not None else None
    except sqlite3.Error:
        return None                     # an unreadable store: compile again


def _put(table: str, key, val, prepickled: bool = False):
    try:
        if _store is not None and not prepickled:
            _store.put(table, key, val)
    except sqlite3.Error:
        pass                            # a store that cannot be written: keep training
    return val


def install(path: Path) -> BinaryStore | None:
    """Route tinygrad's compiled-kernel cache to the signed store at `path` (once per process;
    not with a tinygrad other than the pinned one, whose internals this was written for)."""
    global _store
    if _store is None and tinygrad_is_pinned():
        _store = BinaryStore(path, install_key())
        tg_device.diskcache_get, tg_device.diskcache_put = _get, _put
    return _store
