"""Training speed per model: ms/step and peak memory at default settings, data pipeline included.

Each model runs in its own process (so peak memory is its own): the real sample generator feeds
batches from a background thread while the engine trains; the time the step waited for a batch
is printed separately (it should be ~0: sample generation must not stall the step).

    python bench/train.py                      # every model, batch 8, torch CPU
    python bench/train.py --models H128 SAE --steps 5 --batch 8
    python bench/train.py --models SAE --option archi=liae --engine opencl --steps 2
    python bench/train.py --models SAE SAEHD --option SAEHD:archi=df-ud   # MODEL: one model's

With SAE and SAEHD in one run (the default list) it ends with their seconds per step at their
default 128 px side by side: compare only within one run (the host may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MEDIA = REPO / "tests" / "media" / "train"


def child(name: str, batch: int, steps: int, warmup: int, engine: str, options: dict,
          precision: str | None) -> dict:
    from backends import get_engine
    from app.models import model_class
    from app.models.options import resolve
    from app.train.samples import BatchMaker, SampleConfig, SampleFeeder, load_faceset

    cls = model_class(name)
    model = cls(resolve(cls.options_spec, options))
    em = model.eyes_mouth_masks
    src = load_faceset(MEDIA / "src", model.resolution, model.face_type, eyes_mouth=em)
    dst = load_faceset(MEDIA / "dst", model.resolution, model.face_type, eyes_mouth=em)
    src_aug, dst_aug, extra = model.sample_settings({"random_flip": True, "src_scale_mod": 0})
    feeder = SampleFeeder(BatchMaker(src, dst, SampleConfig(batch, model.multiscale, seed=0, **extra),
                                     src_aug, dst_aug))
    kw = {"precision": precision} if precision and engine == "torch" else {}
    eng = get_engine(engine, "cpu" if engine == "torch" else None, **kw)
    eng.init_params(model.specs, seed=0)
    eng.set_optimizers(model.optimizers())
    step = eng.train_step(model.loss_fn)
    t_first = time.perf_counter()
    for _ in range(warmup):
        step(feeder.next())
    first = time.perf_counter() - t_first
    gflop = step_gflop(step, feeder.next()) if engine == "torch" else None
    waited = work = 0.0
    losses = []
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(steps):
        t0 = time.perf_counter()
        b = feeder.next()
        t1 = time.perf_counter()
        losses.append(step(b)["loss"])
        t2 = time.perf_counter()
        waited += t1 - t0
        work += t2 - t1
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    feeder.close()
    peak_kb = r1.ru_maxrss
    return {"model": name, "options": options, "params_m": model.param_count() / 1e6,
            "resolution": model.resolution,
            "batch": batch, "engine": repr(eng), "warmup_s": first,
            "ms_per_step": 1000 * (waited + work) / steps, "wait_ms": 1000 * waited / steps,
            "peak_mb": peak_kb / 1024, "loss_first": losses[0], "loss_last": losses[-1],
            "cpu_ms": 1000 * (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / steps,
            "sys_ms": 1000 * (r1.ru_stime - r0.ru_stime) / steps,
            "faults": (r1.ru_minflt - r0.ru_minflt) / steps, "gflop": gflop}


def step_gflop(step, batch) -> float:
    """GFLOP of one training step (forward + backward matmuls and convolutions, torch's
    FlopCounterMode), counted on an extra untimed step: with the time per step it gives the
    achieved GFLOP/s to hold against the CPU's GEMM peak (bench/engines.py)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step(batch)
    return counter.get_total_flops() / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["H64", "H128", "DF", "LIAEF128", "SAE", "SAEHD"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--engine", default="torch", choices=("torch", "opencl"))
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16"))
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        r = child(a.child, a.batch, a.steps, a.warmup, a.engine, options_for(a.child, a.option),
                  a.precision)
        print("RESULT " + json.dumps(r))
        return
    print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; batch "
          f"{a.batch} per side; {a.steps} timed steps after {a.warmup} warm-up")
    print(f"{'model':10} {'params':>8} {'ms/step':>9} {'waited':>7} {'peak MB':>8} "
          f"{'warm-up s':>9}  engine, loss first -> last; per step: CPU ms (of it kernel), "
          "page faults, GFLOP per step and achieved GFLOP/s")
    seconds = {}
    for name in a.models:
        cmd = [sys.executable, __file__, "--child", name, "--batch", str(a.batch), "--steps",
               str(a.steps), "--warmup", str(a.warmup), "--engine", a.engine]
        cmd += sum((["--option", kv] for kv in a.option), [])
        if a.precision:
            cmd += ["--precision", a.precision]
        out = subprocess.run(cmd, capture_output=True, text=True)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(f"{name:10} failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
            continue
        r = json.loads(line[7:])
        seconds[name] = (r["ms_per_step"] / 1000, r["resolution"], r["options"])
        print(f"{name:10} {r['params_m']:7.1f}M {r['ms_per_step']:9.0f} {r['wait_ms']:7.1f} "
              f"{r['peak_mb']:8.0f} {r['warmup_s']:9.1f}  {r['engine']}, "
              f"{r['loss_first']:.3f} -> {r['loss_last']:.3f}; CPU {r['cpu_ms']:.0f} "
              f"({r['sys_ms']:.0f}), {r['faults']:.0f} faults{_flop_note(r)}", flush=True)
    if "SAE" in seconds and "SAEHD" in seconds:
        print("# s/step, same run (host shared with other jobs: only this comparison holds): "
              + "; ".join(f"{n} {s:.2f} s/step at {res} px {o or 'defaults'}"
                          for n, (s, res, o) in ((k, seconds[k]) for k in ("SAE", "SAEHD"))))


def options_for(model: str, pairs: list[str]) -> dict:
    """KEY=VALUE for every model, MODEL:KEY=VALUE for that model only."""
    out = {}
    for kv in pairs:
        k, v = kv.split("=", 1)
        owner, _, key = k.rpartition(":")
        if not owner or owner == model:
            out[key] = v
    return out


def _flop_note(r: dict) -> str:
    if not r.get("gflop"):
        return ""
    return f"; {r['gflop']:.0f} GFLOP/step = {r['gflop'] / r['ms_per_step'] * 1000:.0f} GFLOP/s"


if __name__ == "__main__":
    main()
