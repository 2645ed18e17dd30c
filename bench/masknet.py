"""The mask network (merge's FAN mask modes): training ms/step, inference ms/face, and how it
does on held-out faces after a given number of steps. Prints figures; asserts nothing.

    python bench/masknet.py [--resolution 128] [--steps 300] [--batch 8] [--engine torch|opencl]
                            [--device cpu]

Faces: the repo's sample src faces plus every other dst face; measured on the other dst faces.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--engine", default="torch", help="torch or opencl")
    ap.add_argument("--device", default=None, help="torch device (cpu, cuda:0) or OpenCL index")
    args = ap.parse_args()
    device = int(args.device) if args.device and args.device.isdigit() else args.device

    import torch

    from app.masknet import training

    media = REPO / "tests" / "media" / "merge"
    res = args.resolution
    src = training.load_faces([media / "src_faces"], res, "full")
    dst = training.load_faces([media / "dst" / "aligned"], res, "full")
    held = np.arange(len(dst)) % 2 == 0
    train = training.MaskData(np.concatenate([src.images, dst.images[~held]]),
                              np.concatenate([src.masks, dst.masks[~held]]),
                              np.zeros(len(src) + int((~held).sum()), bool))
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(20):
        training.make_batch(train, args.batch, rng)
    batch_ms = (time.perf_counter() - t) / 20 * 1000
    t = time.perf_counter()
    kw = {"engine": args.engine, "device": device} if args.engine != "torch" or device else {}
    model = training.train(train, res, "full", args.steps, batch=args.batch, **kw)
    step_ms = (time.perf_counter() - t) / args.steps * 1000
    faces = np.random.default_rng(1).random((16, res, res, 3), np.float32)
    model.predict(faces[:2])
    t = time.perf_counter()
    model.predict(faces)
    infer_ms = (time.perf_counter() - t) / 16 * 1000
    report = training.evaluate(model, dst.subset(held), variants=3)
    print(f"mask network {res} px, batch {args.batch}, torch threads {torch.get_num_threads()}, "
          f"{getattr(model, 'engine', None) or 'torch.nn'}")
    print(f"batch making: {batch_ms:.1f} ms/batch")
    print(f"training: {step_ms:.1f} ms/step (incl. batch making), {args.steps} steps")
    print(f"inference: {infer_ms:.1f} ms/face")
    print("after {steps} steps on {faces} faces, {n} held-out: IoU clean {c:.3f}, obstructed "
          "{o:.3f} (hull {h:.3f}), visible kept {k:.3f}, obstructions left out {l:.3f}".format(
              steps=args.steps, faces=len(train), n=int(held.sum()), c=report["iou_clean"],
              o=report["iou_obstructed"], h=report["iou_obstructed_hull"],
              k=report["visible_kept"], l=report["obstruction_left_out"]))


if __name__ == "__main__":
    main()
