"""A key -> JSON record store in SQLite for the app's caches of tinygrad work (generated kernel
sources, schedules): text only, never pickle, safe when several processes share `.cache/`."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path


class JsonStore:
    """Text key -> JSON record in one table of an SQLite file (safe for concurrent processes)."""

    def __init__(self, path: Path, table: str):
        self.path, self.table = Path(path), table
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (key TEXT PRIMARY KEY, val TEXT NOT NULL)")
            self._db.commit()
        return self._db

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        with self._lock:
            db = self._conn()
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                rows = db.execute(f"SELECT key, val FROM {self.table} WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                for k, v in rows:
                    try:
                        out[k] = json.loads(v)
                    except ValueError:
                        pass          # a damaged row: its entry is made again
        return out

    def put_many(self, items: dict[str, dict]) -> None:
        if not items:
            return
        with self._lock:
            db = self._conn()
            db.executemany(f"REPLACE INTO {self.table} (key, val) VALUES (?, ?)",
                           [(k, json.dumps(v)) for k, v in items.items()])
            db.commit()
