"""Child processes (ffmpeg, merge and extraction workers) die with the app.

When the app is killed (SIGKILL, the OOM killer, a closed terminal) its children used to live
on: ffmpeg kept encoding into a temporary file nobody would rename, and merge workers printed a
BrokenPipe traceback when their results had nowhere to go. On Linux the kernel can send a child
a signal when its parent dies (`prctl(PR_SET_PDEATHSIG)`); other systems keep the old
behaviour (Windows closes the pipes, which stops ffmpeg; workers exit quietly on their own).
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; else nothing).

    Call it in the child: as `preexec_fn` of a Popen, or first thing in a worker initializer.
    The request only covers a parent that dies after it: a spawned worker reaches its
    initializer a second or more after it was started, and a parent killed in between left it
    waiting forever on the pool's queue (a CI run's merge-kill test hung so). So the child
    exits at once when its parent (`parent_pid`, else the one it has now) is already gone."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    expected = os.getppid() if parent_pid is None else parent_pid
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != expected:     # re-parented: the parent died before the request
        os._exit(1)


def worker_dies_with_parent() -> None:
    """`die_with_parent` in a multiprocessing worker; nothing where the same initializer runs
    in the app's own process (one worker inline), which must outlive its shell under nohup."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None:
        die_with_parent(parent.pid)
