"""Run every benchmark and print one table; keep the figures in bench/RESULTS.md.

    python bench/run_all.py [--quick]

Each bench script prints its own detailed figures; this script runs them one after another (so
they do not compete for the cores), shows their output, and then a summary table of the headline
figures picked from it, with the machine's description and the date.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (name, command, [(label, regex on the output, unit)])
BENCHES = [
    ("start-up", None, []),
    ("video", ["bench/video.py"], [
        ("video extract jpg", r"extract jpg\s+\d+ frames\s+[\d.]+ s\s+([\d.]+) frames/s", "frames/s"),
        ("video assemble mp4", r"assemble mp4\s+\d+ frames\s+[\d.]+ s\s+([\d.]+) frames/s", "frames/s"),
    ]),
    ("extract", ["bench/extract.py", "--clips", "2"], [
        ("extract fast (steady)", r"fast\s+\w+:.*?([\d.]+) frames/s", "frames/s"),
        ("extract accurate", r"accurate\s+\w+:.*?([\d.]+) frames/s", "frames/s"),
        ("eye-centre error (median)", r"median ([\d.]+)%", "% IOD"),
    ]),
    ("train", ["bench/train.py", "--steps", "3"], [
        (f"train {m} (torch, batch 8)", rf"^{m}\s+[\d.]+M\s+(\d+)", "ms/step")
        for m in ("H64", "H128", "DF", "LIAEF128", "SAE")
    ]),
    ("merge", ["bench/merge.py", "--frames", "60"], [
        ("merge full (H128)", r"full merge.*?([\d.]+) frames/s", "frames/s"),
    ]),
    ("masknet", ["bench/masknet.py", "--steps", "100"], [
        ("mask network training (128 px, batch 8)", r"training: ([\d.]+) ms/step", "ms/step"),
        ("mask network inference (128 px)", r"inference: ([\d.]+) ms/face", "ms/face"),
    ]),
    ("quality", ["bench/quality.py", "--iterations", "600", "--pairs", "sample"], [
        ("swap identity share (sample pair, demo recipe, 600 it)",
         r"^\| sample \| demo \| \d+ \| ([\d.]+)", "share"),
        ("swap sharpness result/dst (same run)",
         r"^\| sample \| demo \| \d+ (?:\| [-\d.na]+ ){5}\| ([\d.]+)", "ratio"),
    ]),
    ("engines", ["bench/engines.py", "--steps", "3"], [
        ("GEMM peak fp32", r"fp32 ([\d.]+) GFLOP/s", "GFLOP/s"),
        ("GEMM peak bf16", r"bf16 ([\d.]+) GFLOP/s", "GFLOP/s"),
        ("DF-like 128 px torch fp32", r"^torch fp32 .*?(\d+) ms/step", "ms/step"),
        ("DF-like 128 px torch auto (bf16)", r"^torch auto .*?(\d+) ms/step", "ms/step"),
        ("DF-like 128 px OpenCL (PoCL)", r"^opencl warm cache .*?(\d+) ms/step", "ms/step"),
        ("OpenCL first step, caches empty", r"^opencl cold cache .*?first step ([\d.]+) s", "s"),
        ("OpenCL first step, caches warm", r"^opencl warm cache .*?first step ([\d.]+) s", "s"),
    ]),
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        mem = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB"
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def startup_ms() -> float:
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "app", "--help"], cwd=REPO, capture_output=True)
        runs.append((time.perf_counter() - t) * 1000)
    return sorted(runs)[len(runs) // 2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="run only these benches (names above)")
    args = ap.parse_args()
    rows, outputs = [], []
    for name, cmd, picks in BENCHES:
        if args.only and name not in args.only:
            continue
        if cmd is None:
            rows.append(("start-up (python -m app --help)", f"{startup_ms():.0f}", "ms"))
            continue
        print(f"\n===== {name}: {' '.join(cmd)}", flush=True)
        t = time.perf_counter()
        done = subprocess.run([sys.executable, *cmd], cwd=REPO, capture_output=True, text=True)
        text = done.stdout + (f"\n[exit {done.returncode}]\n{done.stderr[-2000:]}"
                              if done.returncode else "")
        print(text)
        outputs.append((name, cmd, text, time.perf_counter() - t))
        for label, pattern, unit in picks:
            m = re.search(pattern, done.stdout, re.M)
            rows.append((label, m.group(1) if m else "n/a", unit))
    head = f"{datetime.date.today()} on {machine()}"
    table = ["| figure | value | unit |", "|---|---|---|"]
    table += [f"| {label} | {value} | {unit} |" for label, value, unit in rows]
    print(f"\n{head}\n" + "\n".join(table))
    report = [f"# Benchmark results\n\n{head}\n", *table, ""]
    for name, cmd, text, secs in outputs:
        report += [f"## {name} (`python {' '.join(cmd)}`, {secs:.0f} s)", "", "```",
                   text.strip(), "```", ""]
    (REPO / "bench" / "RESULTS.md").write_text("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
