"""One trainer per model: a lock in the model folder, held from loading until the last save.

Two runs on one model used to delete each other's temporary save files (each save clears the
temps a killed save left), one failed blaming the disk and lost its work, and the backups filled
with the same model. The lock is an OS file lock (`filelock`: flock / LockFileEx), so the OS
releases it when its process dies however it dies: a lock left by a killed run is simply free and
is taken over. Beside it, `<stem>.lock.json` says who holds it (pid, host, start time), so the
second run can tell the user whom to wait for. In a torchrun job only rank 0 (the one that saves)
takes it.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import time
from pathlib import Path

from app.errors import UserError
from app.fileio import atomic_write_text


class ModelLock:
    """`ModelLock(model_dir, stem).acquire()`; released by `release()` or at exit."""

    def __init__(self, model_dir: str | Path, stem: str) -> None:
        self.dir = Path(model_dir)
        self.path = self.dir / f"{stem}.lock"
        self.info = self.dir / f"{stem}.lock.json"
        self._lock = None

    def acquire(self) -> "ModelLock":
        from filelock import FileLock, Timeout

        if os.environ.get("RANK", "0") not in ("", "0"):
            return self   # torchrun's other ranks: rank 0 alone saves, so it alone locks
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path, timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise UserError(f"this model is being trained by another run ({self._holder()}); "
                            "wait for it to finish or stop it (Enter in its preview window, or "
                            "Ctrl+C), or train into another --model-dir", self.dir) from None
        self._lock = lock
        left = self._read_info()
        if left:
            print(f"note: a run that ended without releasing the model ({_describe(left)}) "
                  "left its lock; taken over")
        atomic_write_text(self.info, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                 "started": time.time()}))
        atexit.register(self.release)
        return self

    def release(self) -> None:
        if self._lock is None:
            return
        self.info.unlink(missing_ok=True)
        self._lock.release()
        self._lock = None

    def __enter__(self) -> "ModelLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def _read_info(self) -> dict:
        try:
            info = json.loads(self.info.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def _holder(self) -> str:
        info = self._read_info()
        return _describe(info) if info else "it has not said who it is yet"


def _describe(info: dict) -> str:
    started = info.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) \
        if isinstance(started, (int, float)) else "an unknown time"
    return f"pid {info.get('pid')} on {info.get('host')}, started {when}"
