"""A child asks to die with its parent; one whose parent is already gone exits at once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CODE = "from app.child_processes import die_with_parent; die_with_parent({}); print('alive')"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


def _run(parent_pid: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CODE.format(parent_pid)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_a_child_whose_parent_lives_carries_on():
    done = _run(os.getpid())      # this test process is the child's parent
    assert done.returncode == 0 and done.stdout.strip() == "alive", done.stderr


def test_a_child_whose_parent_already_died_exits_at_once():
    """What a spawned merge worker sees when merge was killed before the worker's initializer
    ran: its parent pid is no longer its parent."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    done = _run(int(gone))
    assert done.returncode == 1 and "alive" not in done.stdout
