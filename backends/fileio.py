"""Atomic writes: a crash or a kill mid-write leaves the old file or the new one, never half.

In the engine layer because model checkpoints are written here too; `app.fileio` re-exports it
(the rest of the app imports it from there).
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed over `path`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except OSError as exc:
        if exc.filename is None:  # a full disk says which file only if we tell it
            exc.filename = str(target)
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temps_of(path: str | os.PathLike) -> None:
    """Delete the half-written temporaries of `path` alone (`.<name>.XXXX.tmp*` beside it) that
    a killed run left: a killed encode's `.result.mp4.*.tmp.mp4` can be as big as the video."""
    target = Path(path)
    if target.parent.is_dir():
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp*"):
            if stale.is_file():
                stale.unlink(missing_ok=True)


def remove_stale_temps(folder: str | os.PathLike) -> None:
    """Delete half-written temporaries (`.name.XXXX.tmp.ext`) that a killed run left in `folder`.

    Only one run writes a folder at a time, so any such file there is garbage.
    """
    for p in Path(folder).iterdir():
        if p.name.startswith(".") and ".tmp" in p.name and p.is_file():
            p.unlink(missing_ok=True)
