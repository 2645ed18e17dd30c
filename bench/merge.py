"""Frames per second of the full merge (inference + masks + seamless + rct + write).

Model: DeepFaceLab's H128 (128 px half face, default dims; weights initialised, not trained:
inference costs the same) on the torch engine, or `--model colorshift` (no network) to time the
image work alone. Frames: the 360x288 sample dst (tests/media/merge/dst, 8 frames with 7 faces),
repeated to `--frames`. Prints frames/s (and CPU ms per frame, steadier on a shared machine) per
stage setting; asserts nothing.

    python bench/merge.py [--frames 80] [--workers 2] [--model H128|SAE|...|colorshift]
                         [--lighter] [--option KEY=VALUE ...] [--compare-threads]
    python bench/merge.py --model SAE            # DeepFaceLab 1.0's SAE defaults: df, 128 px
    python bench/merge.py --engines torch,onnx,openvino --models H128,SAE
        # the same frames merged by each engine, one run: frames/s, inference faces/s and the
        # mean absolute difference (0..255) of each engine's merged frames from torch's
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def build_predictor(name: str, device: str | None, threads: int | None, options: dict):
    if name == "colorshift":
        from app.merge.predictors import ColorShiftPredictor
        return ColorShiftPredictor(128, "full")
    import torch

    torch.set_num_threads(threads)
    from backends import get_engine
    from app.models import model_class
    from app.models.options import resolve
    from app.models.predictor import Predictor

    cls = model_class(name)
    model = cls(resolve(cls.options_spec, options))
    eng = get_engine("torch", device)
    eng.init_params(model.specs, seed=0)
    return Predictor(model, eng)


def make_frames(n: int, folder: Path) -> tuple[list[Path], dict]:
    """`n` frames cycling through the sample's 8 (7 with a face), with their landmarks."""
    from app.merge.dst_inputs import faces_by_frame, list_frames

    src = REPO / "tests" / "media" / "merge" / "dst"
    base = list_frames(src)
    lms = faces_by_frame(src / "aligned")
    folder.mkdir(parents=True)
    frames, faces = [], {}
    for i in range(n):
        b = base[i % len(base)]
        p = folder / f"{i:05d}{b.suffix}"
        shutil.copyfile(b, p)
        frames.append(p)
        if b.name in lms:
            faces[p.name] = lms[b.name]
    return frames, faces


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=80)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--model", default="H128")
    ap.add_argument("--device", default=None)
    ap.add_argument("--lighter", action="store_true", help="the model's lightweight option")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a model option, as bench/train.py takes them")
    ap.add_argument("--torch-threads", type=int, default=None)
    ap.add_argument("--inference-threads", type=int, default=None,
                    help="Python threads running inference (default: as the app chooses)")
    ap.add_argument("--compare-threads", action="store_true",
                    help="also time the full merge with 1 inference thread, interleaved")
    ap.add_argument("--superres-steps", type=int, default=0,
                    help="also train the x2 upscaler on the test src faces and print PSNR/SSIM "
                         "against bicubic on held-out faces (e.g. 3000, the app's default)")
    ap.add_argument("--engines", default=None,
                    help="compare merge engines (torch,onnx,openvino) on --models instead")
    ap.add_argument("--models", default="H128,SAE", help="models for --engines")
    ap.add_argument("--precisions", default="auto,fp32",
                    help="for --engines: auto (bf16 where the CPU has it natively, as the app) "
                         "and/or fp32 (what an AVX2 CPU runs), one pass each")
    args = ap.parse_args()
    if args.engines:
        return bench_engines(args)
    if args.torch_threads is None:  # as the app does (backends.share_cpu)
        args.torch_threads = max(1, (os.cpu_count() or 1) - args.workers)

    from app.merge.engine import merge_frames
    from app.merge.options import MergeOptions

    options = dict(kv.split("=", 1) for kv in args.option)
    if args.lighter:
        options["lighter_ae"] = True
    predictor = build_predictor(args.model, args.device, args.torch_threads, options)
    if args.superres_steps:
        bench_superres(args.superres_steps)
    print(f"model {args.model}{f' {options}' if options else ''} ({predictor.resolution} "
          f"px {predictor.face_type}), {args.frames} frames 360x288, workers {args.workers}, "
          f"batch {args.batch_size}, torch threads {args.torch_threads}")
    with tempfile.TemporaryDirectory() as tmp:
        frames, faces = make_frames(args.frames, Path(tmp) / "dst")
        crops = np.random.default_rng(0).random(
            (args.batch_size, predictor.resolution, predictor.resolution, 3)).astype(np.float32)
        t = time.perf_counter()
        predictor.predict(crops)  # warm-up (first call allocates)
        t = time.perf_counter() - t
        t = time.perf_counter()
        predictor.predict(crops)
        per_face = (time.perf_counter() - t) / len(crops)
        print(f"inference alone: {1 / per_face:.1f} faces/s ({per_face * 1000:.1f} ms/face)")
        from app.merge.engine import default_inference_threads

        threads = args.inference_threads or default_inference_threads(predictor)
        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads) as ex:
                list(ex.map(predictor.predict, np.array_split(crops, threads)))  # warm-up
                t = time.perf_counter()
                list(ex.map(predictor.predict, np.array_split(crops, threads)))
                per_face = (time.perf_counter() - t) / len(crops)
            print(f"inference alone, {threads} threads: {1 / per_face:.1f} faces/s "
                  f"({per_face * 1000:.1f} ms/face)")
        full = MergeOptions(mode="seamless", color_transfer="rct")
        cases = [(f"full merge: seamless + rct + write, inference threads {threads}", full,
                  threads),
                 ("overlay, no colour transfer", MergeOptions(mode="overlay"), threads),
                 ("seamless + rct + suppress jitter", MergeOptions(
                     mode="seamless", color_transfer="rct", suppress_seamless_jitter=True),
                  threads),
                 ("seamless + rct, dst mask (the model's mask decoder skipped)", MergeOptions(
                     mode="seamless", color_transfer="rct", mask_mode="dst"), threads)]
        if args.compare_threads and threads != 1:  # before/after in one run, interleaved
            before = ("full merge: seamless + rct + write, inference threads 1 (before)", full, 1)
            cases = [before, cases[0], before, cases[0]] + cases[1:]
        for i, (label, opts, n) in enumerate(cases):
            out = Path(tmp) / f"merged{i}"
            t, cpu = time.perf_counter(), cpu_seconds()
            stats = merge_frames(frames, faces, out, predictor, opts, workers=args.workers,
                                 batch_size=args.batch_size, inference_threads=n)
            dt, cpu = time.perf_counter() - t, cpu_seconds() - cpu
            k = stats.merged + stats.copied
            print(f"{label}: {k} frames in {dt:.2f} s = {k / dt:.1f} frames/s (incl. worker "
                  f"start-up; CPU {cpu / k * 1000:.0f} ms/frame; load average "
                  f"{os.getloadavg()[0]:.1f})")


def spread_outputs(predictor) -> None:
    """Untrained weights give faces and masks at sigmoid(~0) = 0.5 everywhere, where any two
    engines agree; scale the output convs so they cover 0..1 (same cost, a difference that
    means something)."""
    faces = np.random.default_rng(1).random((2, predictor.resolution, predictor.resolution, 3))
    face, mask = predictor.predict(faces.astype(np.float32))
    gain = {3: 1.5 / (4 * face.std() + 1e-9), 1: 1.5 / (4 * mask.std() + 1e-9)}
    eng = predictor.engine
    sd = eng.state_dict()
    for k, v in list(sd.items()):
        if v.ndim == 4 and v.shape[0] in gain:
            sd[k] = v * gain[v.shape[0]]
            b = k.rsplit(".", 1)[0] + ".bias"
            if b in sd:
                sd[b] = sd[b] * gain[v.shape[0]]
    eng.load_state_dict(sd)


def graph_predictor(predictor, engine: str, folder: Path):
    """`predictor`'s model exported (the app's merge graph) and opened on `engine`."""
    from app.models.export import export_predictor
    from app.models.graph_predictor import GraphPredictor, check_graph, open_session

    folder.mkdir(parents=True, exist_ok=True)
    path = export_predictor(predictor, folder / f"{predictor.name}.onnx", "onnx")
    return GraphPredictor(open_session(path, engine, parallel=True), check_graph(path), path)


def gflop_per_face(predictor) -> float:
    """Multiply-adds x 2 of one face through the model (torch's FLOP counter, convs and
    matmuls): what every engine has to compute, whatever its kernels."""
    from torch.utils.flop_counter import FlopCounterMode

    face = np.zeros((1, predictor.resolution, predictor.resolution, 3), np.float32)
    with FlopCounterMode(display=False) as counter:
        predictor.predict(face)
    return counter.get_total_flops() / 1e9


def inference_threads_rate(predictor, batch: int) -> float:
    """Faces/s of inference alone, called as merge calls it (its inference threads at once)."""
    from concurrent.futures import ThreadPoolExecutor

    from app.merge.engine import default_inference_threads

    n = default_inference_threads(predictor)
    if n <= 1:
        return inference_rate(predictor, batch)
    crops = np.random.default_rng(0).random(
        (batch, predictor.resolution, predictor.resolution, 3)).astype(np.float32)
    parts = np.array_split(crops, n)
    with ThreadPoolExecutor(n) as ex:
        list(ex.map(predictor.predict, parts))  # warm-up
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            list(ex.map(predictor.predict, parts))
            best = min(best, time.perf_counter() - t)
    return batch / best


def inference_rate(predictor, batch: int) -> float:
    crops = np.random.default_rng(0).random(
        (batch, predictor.resolution, predictor.resolution, 3)).astype(np.float32)
    predictor.predict(crops)  # warm-up
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        predictor.predict(crops)
        best = min(best, time.perf_counter() - t)
    return batch / best


def read_merged(folder: Path) -> dict[str, np.ndarray]:
    import cv2
    return {p.name: cv2.imread(str(p)).astype(np.float32) for p in sorted(folder.iterdir())
            if p.suffix in (".jpg", ".png")}


def bench_engines(args) -> None:
    """Each model merged by each engine on the same frames (seamless + rct, the app's
    threads), one after the other in this one process, once per precision."""
    from backends import share_cpu

    with share_cpu(args.workers):   # as merge does: torch threads = cores - workers
        _bench_engines(args)


def _bench_engines(args) -> None:
    threads = max(1, (os.cpu_count() or 1) - args.workers)
    print(f"{args.frames} frames 360x288, seamless + rct, workers {args.workers}, batch "
          f"{args.batch_size}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}); "
          "inference faces/s: the app's inference threads at once; GFLOP/s = faces/s x the "
          "model's GFLOP/face")
    print(f"{'model':<10}{'precision':<10}{'engine':<10}{'merge frames/s':>15}"
          f"{'CPU ms/frame':>14}{'inference faces/s':>19}{'GFLOP/s':>9}{'MAD vs torch':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        frames, faces = make_frames(args.frames, Path(tmp) / "dst")
        for precision in args.precisions.split(","):
            if precision == "auto":
                os.environ.pop("FACESTUDIO_PRECISION", None)
            else:
                os.environ["FACESTUDIO_PRECISION"] = precision
            for name in args.models.split(","):
                bench_model_engines(args, name, precision, threads, frames, faces,
                                    Path(tmp) / precision)


def bench_model_engines(args, name: str, precision: str, threads: int, frames, faces,
                        tmp: Path) -> None:
    """One table row per engine for one model: the torch predictor, then its exported graph."""
    from app.merge.engine import merge_frames
    from app.merge.options import MergeOptions

    torch_pred = build_predictor(name, args.device, threads, {})
    spread_outputs(torch_pred)
    gflop = gflop_per_face(torch_pred)
    ref = None
    for engine in args.engines.split(","):
        pred = torch_pred if engine == "torch" else graph_predictor(torch_pred, engine, tmp)
        rate = inference_threads_rate(pred, args.batch_size)
        out = tmp / f"{name}-{engine}"
        t, cpu = time.perf_counter(), cpu_seconds()
        stats = merge_frames(frames, faces, out, pred,
                             MergeOptions(mode="seamless", color_transfer="rct"),
                             workers=args.workers, batch_size=args.batch_size)
        dt, cpu = time.perf_counter() - t, cpu_seconds() - cpu
        k = stats.merged + stats.copied
        imgs = read_merged(out)
        if engine == "torch":
            ref = imgs
        mad = (np.mean([np.abs(imgs[f] - ref[f]).mean() for f in ref])
               if ref is not None else float("nan"))
        print(f"{name:<10}{precision:<10}{engine:<10}{k / dt:>15.2f}{cpu / k * 1000:>14.0f}"
              f"{rate:>19.1f}{rate * gflop:>9.0f}{mad:>14.3f}", flush=True)
        shutil.rmtree(out)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the merge's worker pool is joined
    before merge_frames returns): steadier than frames/s on a shared machine."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def bench_superres(steps: int) -> None:
    """Held-out quality of the src-face upscaler vs bicubic (the faces it never trained on)."""
    from app.merge import superres

    src = REPO / "tests" / "media" / "merge" / "src_faces"
    paths = sorted(src.glob("*.jpg"))
    held = paths[::5]
    train_faces = superres.load_src_faces([p for p in paths if p not in held], 256)
    t = time.perf_counter()
    model = superres.train(train_faces, steps=steps)
    dt = time.perf_counter() - t
    r = superres.evaluate(model, superres.load_src_faces(held, 256))
    print(f"super resolution x2 ({steps} steps, {dt:.0f} s, {len(train_faces)} train / "
          f"{r['faces']} held-out faces at 256 px): PSNR {r['psnr_sr']:.2f} dB vs bicubic "
          f"{r['psnr_bicubic']:.2f} dB, SSIM {r['ssim_sr']:.4f} vs {r['ssim_bicubic']:.4f}")
    faces = np.random.default_rng(0).random((8, 128, 128, 3)).astype(np.float32)
    t = time.perf_counter()
    model.upscale(faces)
    print(f"upscaling 128 -> 256: {(time.perf_counter() - t) / 8 * 1000:.1f} ms/face")


if __name__ == "__main__":
    main()
