"""Training-step speed of each engine on a DF-like 128 px model, batch 8.

Prints ms/step (steady; also the process CPU time per step, which other programs on a shared
machine skew less than wall time), first-step time with cold and warm compile caches, peak memory,
and the achieved GFLOP/s as a share of this machine's GEMM peak measured here (fp32 and bf16).
Each configuration runs in its own process so peak memory and caches are measured cleanly.

    python bench/engines.py                 # torch fp32, torch auto (bf16 where native), OpenCL
    python bench/engines.py --res 64 --only opencl --steps 3

OpenCL switches for before/after comparisons: FACESTUDIO_CL_PROGCACHE=0 (no stored kernel
sources: tinygrad generates every kernel), FACESTUDIO_CL_SCHEDCACHE=0 (no stored schedules:
tinygrad schedules the step's graph again; the warm run is also repeated this way), FACESTUDIO_CL_IM2COL=tinygrad (im2col from tinygrad
movement ops), FACESTUDIO_CL_CONV=tinygrad (tinygrad's own conv kernels).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def df_like(res: int):
    """DeepFaceLab SAE-DF at its defaults (ae_dims 512, e_ch_dims 42, d_ch_dims 21), without the
    mask decoders: shared encoder (4 stride-2 5x5 convs 42-84-168-336, dense 512, dense 8x8x512,
    upscale 512), two decoders (src, dst) of 3 upscales 168-84-42 + a 5x5 to-RGB conv."""
    from backends import layers as L

    class Decoder(L.Module):
        def __init__(self):
            self.ups = [L.Upscale(512, 168), L.Upscale(168, 84), L.Upscale(84, 42)]
            self.rgb = L.Conv2D(42, 3, 5)

        def __call__(self, F, P, x):
            for u in self.ups:
                x = u(F, P, x)
            return F.sigmoid(self.rgb(F, P, x))

    class DF(L.Module):
        def __init__(self):
            self.res, s = res, res // 16
            self.down = [L.Downscale(3, 42), L.Downscale(42, 84), L.Downscale(84, 168), L.Downscale(168, 336)]
            self.enc = L.Dense(336 * s * s, 512)
            self.inter = L.Dense(512, 512 * s * s)
            self.inter_up = L.Upscale(512, 512)
            self.dec_src, self.dec_dst = Decoder(), Decoder()

        def encode(self, F, P, x):
            for d in self.down:
                x = d(F, P, x)
            s = self.res // 16
            z = self.inter(F, P, self.enc(F, P, F.flatten(x)))
            return self.inter_up(F, P, F.reshape(z, (x.shape[0], 512, s, s)))

    return DF()


def model_flops(model, batch: int) -> float:
    """Multiply-adds x 2 of every conv/dense for one forward of both halves, x3 for fwd+bwd."""
    from backends import layers as L
    res = model.res
    total = 0.0

    def conv(layer, h):
        return 2 * layer.cin * layer.cout * layer.k ** 2 * (h // layer.stride) ** 2
    h = res
    for d in model.down:
        total += conv(d.conv, h)
        h //= 2
    total += 2 * model.enc.fin * model.enc.fout + 2 * model.inter.fin * model.inter.fout
    h = res // 16
    total += conv(model.inter_up.conv, h)
    h *= 2
    dec = 0.0
    for u in model.dec_src.ups:
        dec += conv(u.conv, h)
        h *= 2
    dec += conv(model.dec_src.rgb, h)
    _ = L
    return 3 * batch * 2 * (total + dec)   # src and dst halves, fwd + bwd (~2x fwd)


def batch_for(res: int, n: int, seed: int = 0):
    import numpy as np
    rng = np.random.default_rng(seed)
    mk = lambda: rng.random((n, 3, res, res), dtype=np.float32)  # noqa: E731
    return {"src": mk(), "dst": mk()}


def loss_fn(model):
    k = max(3, int(model.res / 11.6))

    def fn(F, P, b):
        n = b["src"].shape[0]
        z = model.encode(F, P, F.concat([b["src"], b["dst"]], 0))   # shared encoder: one pass
        ys = model.dec_src(F, P, z[:n])
        yd = model.dec_dst(F, P, z[n:])
        ls = 10 * F.dssim(b["src"], ys, k) + 10 * F.mse(b["src"], ys)
        ld = 10 * F.dssim(b["dst"], yd, k) + 10 * F.mse(b["dst"], yd)
        return {"loss": ls + ld, "src": ls, "dst": ld}
    return fn


def gemm_peak() -> dict:
    """Best GFLOP/s of a 2048^3 matmul (fp32, bf16) over a few runs. bf16 only where the CPU
    computes it natively: emulated, its matmuls took minutes on an AVX2 host (peak printed 0)."""
    import torch
    from backends.torch_engine import cpu_has_bf16
    out = {"bf16": 0.0}
    kinds = [("fp32", torch.float32)] + ([("bf16", torch.bfloat16)] if cpu_has_bf16() else [])
    for name, dt in kinds:
        a, b = torch.randn(2048, 2048, dtype=dt), torch.randn(2048, 2048, dtype=dt)
        a @ b
        best = 1e9
        for _ in range(5):
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
        out[name] = 2 * 2048 ** 3 / best / 1e9
    return out


def df_like_step(engine: str, precision: str, res: int, batch: int):
    """(model, engine, train step, batch) of the DF-like reference net, Adam as DeepFaceLab's."""
    from backends import get_engine
    from backends.optim import Adam
    model = df_like(res)
    kw = {"precision": precision} if engine == "torch" else {}
    eng = get_engine(engine, "cpu" if engine == "torch" else None, **kw)
    eng.init_params(model.specs(), seed=0)
    eng.set_optimizers([Adam(lr=5e-5, beta1=0.5, beta2=0.999)])
    return model, eng, eng.train_step(loss_fn(model)), batch_for(res, batch)


def run_one(engine: str, precision: str, res: int, batch: int, steps: int) -> dict:
    """One configuration in this process: first step, steady steps, peak RSS."""
    model, eng, step, b = df_like_step(engine, precision, res, batch)
    t = time.perf_counter()
    first_loss = step(b)["loss"]
    first = time.perf_counter() - t
    times, cpus, loss = [], [], first_loss
    for _ in range(steps):
        t, c = time.perf_counter(), time.process_time()
        loss = step(b)["loss"]
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    times.sort()
    cpus.sort()
    steady = times[len(times) // 2] if times else first
    cpu = cpus[len(cpus) // 2] if cpus else float("nan")
    import numpy as np
    return {"engine": engine, "precision": getattr(eng, "precision", "fp32"), "device": repr(eng),
            "params_M": sum(int(np.prod(s.shape)) for s in model.specs().values()) / 1e6,
            "first_s": first, "steady_s": steady, "cpu_s": cpu, "loss_first": first_loss, "loss_last": loss,
            "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "gflop_step": model_flops(model, batch) / 1e9}


def spawn(args: list[str], env: dict | None = None, timeout: float = 3600) -> dict | None:
    cmd = [sys.executable, __file__, "--child", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})},
                       timeout=timeout)
    for line in r.stdout.splitlines()[::-1]:
        if line.startswith("{"):
            return json.loads(line)
    print(f"  failed: {' '.join(args)}\n{r.stderr[-1500:]}")
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--only", choices=["torch", "opencl"], default=None)
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "PRECISION"))
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_one(a.child[0], a.child[1], a.res, a.batch, a.steps)))
        return
    import torch
    peak = gemm_peak()
    print(f"GEMM peak (2048^3 matmul, {torch.get_num_threads()} threads): fp32 {peak['fp32']:.0f} GFLOP/s, "
          + (f"bf16 {peak['bf16']:.0f} GFLOP/s" if peak["bf16"] else "bf16 not native on this CPU"))
    common = ["--res", str(a.res), "--batch", str(a.batch), "--steps", str(a.steps)]
    runs = []
    if a.only in (None, "torch"):
        for prec in ("fp32", "auto"):
            runs.append(("torch " + prec, spawn(["torch", prec, *common])))
    if a.only in (None, "opencl"):
        with tempfile.TemporaryDirectory() as cache:    # the cold run fills it, the warm one reads it
            runs.append(("opencl cold cache", spawn(["opencl", "fp32", *common, "--steps", "0"],
                                                    {"FACESTUDIO_CACHE": cache})))
            runs.append(("opencl warm cache", spawn(["opencl", "fp32", *common],
                                                    {"FACESTUDIO_CACHE": cache})))
            runs.append(("opencl warm, no sched", spawn(["opencl", "fp32", *common, "--steps", "0"],
                                                        {"FACESTUDIO_CACHE": cache, "FACESTUDIO_CL_SCHEDCACHE": "0"})))
    print(f"DF-like {a.res} px, batch {a.batch} (src + dst halves)")
    for name, r in runs:
        if r is None:
            continue
        if "cold" in name:
            print(f"{name:20s} {r['device']:45s} first step {r['first_s']:.2f} s (compile caches empty)")
            continue
        if "no sched" in name:
            print(f"{name:20s} {r['device']:45s} first step {r['first_s']:.2f} s (warm caches but tinygrad "
                  "schedules the step again: FACESTUDIO_CL_SCHEDCACHE=0, as before the schedule cache)")
            continue
        share_peak = peak["bf16"] if r["precision"] == "bf16" else peak["fp32"]
        gfs = r["gflop_step"] / r["steady_s"]
        print(f"{name:20s} {r['device']:45s} params {r['params_M']:.1f} M, {r['gflop_step']:.0f} GFLOP/step | "
              f"first step {r['first_s']:.2f} s ({r['first_s'] - r['steady_s']:.2f} s beyond a "
              f"steady step) | {r['steady_s'] * 1000:.0f} ms/step "
              f"({r['cpu_s'] * 1000:.0f} ms CPU) | "
              f"{gfs:.0f} GFLOP/s = {f'{100 * gfs / share_peak:.0f}%' if share_peak else 'n/a'} "
              f"of {r['precision']} peak | "
              f"peak RSS {r['peak_rss_MiB']:.0f} MiB | loss {r['loss_first']:.3f} -> {r['loss_last']:.3f}")


if __name__ == "__main__":
    main()
