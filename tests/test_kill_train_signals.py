"""Training stopped by the OS, and two trainers on one model.

SIGTERM (`timeout`, `docker stop`, job schedulers) and SIGHUP (a closed terminal) must save
like Ctrl+C: they used to kill the run and lose everything since the last save. A second
trainer on a model folder must refuse to start and say who holds it (two runs deleted each
other's temporary saves); a lock left by a killed run is taken over. Real runs of
`python -m app train` on a small SAE.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from test_fault_helpers import MEDIA, REPO, run_app

SMALL = ["--option", "resolution=64", "--option", "ae_dims=128", "--option", "e_ch_dims=21",
         "--option", "d_ch_dims=11"]
TRAIN = ["train", "SAE", *SMALL, "--no-window", "--batch-size", "2", "--seed", "1",
         "--save-every", "1000"]

HOLDER = """
import sys, time
from app.train.model_lock import ModelLock
ModelLock(sys.argv[1], "SAE").acquire()
print("locked", flush=True)
time.sleep(600)
"""


def workspace(tmp: Path) -> Path:
    ws = tmp / "ws"
    shutil.copytree(MEDIA / "train" / "src", ws / "data_src" / "aligned")
    shutil.copytree(MEDIA / "train" / "dst", ws / "data_dst" / "aligned")
    return ws


def env() -> dict:
    return dict(os.environ, FACESTUDIO_ASK="0", OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))


def train_until_running(ws: Path) -> tuple[subprocess.Popen, list[str]]:
    """Start training; return once its loop runs (the line printed just before it)."""
    proc = subprocess.Popen([sys.executable, "-m", "app", "--workspace", str(ws), *TRAIN],
                            cwd=REPO, env=env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl+C: save and exit" in line:
                started.set()
    threading.Thread(target=read, daemon=True).start()
    assert started.wait(240), "".join(lines)
    return proc, lines


def saved_iteration(ws: Path) -> int:
    return int(json.loads((ws / "model" / "SAE_data.json").read_text())["iteration"])


def test_term_and_hup_save_like_ctrl_c_and_a_second_trainer_is_refused(tmp_path):
    ws = workspace(tmp_path)
    (ws / "model").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(ws / "model")], cwd=REPO,
                              env=env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        refused = run_app(*TRAIN, workspace=ws)
        assert refused.returncode == 2, refused.stderr
        errors = [line for line in refused.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1 and f"pid {holder.pid} on " in errors[0], refused.stderr
        assert "started" in errors[0] and "Traceback" not in refused.stderr
    finally:
        holder.kill()   # SIGKILL: its lock is left behind, to be taken over
        holder.wait()
    assert not (ws / "model" / "SAE_data.json").exists()

    proc, lines = train_until_running(ws)   # first run: nothing saved until it stops
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(240) == 0, "".join(lines)
    out = "".join(lines)
    assert "taken over" in out and "stopped (SIGTERM)" in out, out
    first = saved_iteration(ws)
    assert first >= 1

    proc, lines = train_until_running(ws)   # resumes, then a closed terminal
    time.sleep(2)
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(240) == 0, "".join(lines)
    assert "stopped (SIGHUP)" in "".join(lines)
    assert saved_iteration(ws) > first
    assert not (ws / "model" / "SAE.lock.json").exists()   # released on the way out
