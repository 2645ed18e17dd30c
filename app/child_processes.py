"""Child processes (ffmpeg, merge and extraction workers) die with the app.

When the app is killed (SIGKILL, the OOM killer, a closed terminal) its children used to live
on: ffmpeg kept encoding into a temporary file nobody would rename, and merge workers printed a
BrokenPipe traceback when their results had nowhere to go. On Linux the kernel can send a child
a signal when its parent dies (`prctl(PR_SET_PDEATHSIG)`); other systems keep the old
behaviour (Windows closes the pipes, which stops ffmpeg; workers exit quietly on their own).
"""

from __future__ import annotations

import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; else nothing).

    Call it in the child: as `preexec_fn` of a Popen, or first thing in a worker initializer."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def worker_dies_with_parent() -> None:
    """`die_with_parent` in a multiprocessing worker; nothing where the same initializer runs
    in the app's own process (one worker inline), which must outlive its shell under nohup."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        die_with_parent()
