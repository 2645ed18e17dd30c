"""Kernel-by-kernel profile of one OpenCL (tinygrad) training step of the DF-like model, with the
convolutions as tinygrad's own kernels and as im2col + the hand-written GEMM (backends/cl_gemm.py).

Each variant runs in its own process, one after the other, so that both see the same machine
load; besides wall time it prints the process CPU time per step (PoCL's worker threads are in
the process), which other programs on a shared machine skew far less.

    python bench/opencl_kernels.py --res 64 --steps 2 --top 12
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LINE = re.compile(r"\*\*\* CL\S*\s+\d+\s+(?P<name>.+?)\s+arg\s+\d+ mem .*? tm\s+(?P<tm>[\d.]+)(?P<unit>us|ms|s)\s*/"
                  r".*?\(\s*(?P<gf>\d+) GFLOPS")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def profile(res: int, batch: int, steps: int) -> dict:
    """Run in this process: first step, steady steps (wall + CPU), then one step under DEBUG=2."""
    from bench.engines import df_like_step, model_flops
    from tinygrad.helpers import Context

    model, eng, step, b = df_like_step("opencl", "fp32", res, batch)
    t = time.perf_counter()
    first_loss = step(b)["loss"]
    first = time.perf_counter() - t
    step(b)                                      # TinyJit captures on the second call
    walls, cpus = [], []
    for _ in range(steps):
        t, c = time.perf_counter(), time.process_time()
        loss = step(b)["loss"]
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), Context(DEBUG=2):
        step(b)
    kernels = []
    for line in ANSI.sub("", buf.getvalue()).splitlines():
        m = LINE.search(line)
        if m:
            scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0}[m["unit"]]
            kernels.append((m["name"].strip(), float(m["tm"]) * scale, int(m["gf"])))
    return {"first_s": first, "wall_s": min(walls), "cpu_s": min(cpus), "loss": [first_loss, loss],
            "gflop": model_flops(model, batch) / 1e9, "kernels": kernels}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--only", choices=["tinygrad", "gemm-only", "gemm"], default=None,
                    help="one variant: tinygrad's conv kernels, GEMM for 16+ outputs only, or "
                         "GEMM plus the direct kernel for few outputs (the default)")
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(profile(a.res, a.batch, a.steps)))
        return
    print(f"DF-like {a.res} px, batch {a.batch}; load average at start {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    for conv in ([a.only] if a.only else ["tinygrad", "gemm"]):
        env = {**os.environ, "FACESTUDIO_CL_CONV": conv}
        r = subprocess.run([sys.executable, __file__, "--child", "--res", str(a.res), "--batch", str(a.batch),
                            "--steps", str(a.steps)], capture_output=True, text=True, env=env)
        line = next((x for x in r.stdout.splitlines()[::-1] if x.startswith("{")), None)
        if line is None:
            print(f"conv={conv}: failed\n{r.stderr[-2000:]}")
            continue
        p = json.loads(line)
        ks = sorted(p["kernels"], key=lambda k: -k[1])
        total = sum(k[1] for k in ks)
        print(f"\nconv={conv}: first step {p['first_s']:.1f} s | steady {p['wall_s'] * 1000:.0f} ms wall, "
              f"{p['cpu_s'] * 1000:.0f} ms CPU | {p['gflop']:.0f} GFLOP -> {p['gflop'] / p['wall_s']:.1f} GFLOP/s "
              f"wall, {p['gflop'] / p['cpu_s']:.1f} GFLOP/CPU-s | loss {p['loss'][0]:.4f} -> {p['loss'][1]:.4f}")
        print(f"  {len(ks)} kernels, {total * 1000:.0f} ms summed under DEBUG=2; slowest:")
        for name, tm, gf in ks[:a.top]:
            print(f"  {tm * 1000:8.1f} ms {gf:5d} GFLOP/s  {name}")


if __name__ == "__main__":
    main()
