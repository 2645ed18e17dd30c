"""The whole pipeline on a workspace without questions: the README's main command.

Part of the CLI layer: it runs each step through the same CLI entry a user would call (so the
demo exercises the real commands and their flags), trains a model on a time budget (or to an
iteration count), and scores the swap with app.quality (identity, pose, expression, sharpness,
seam, flicker). Every step resumes: running the demo again continues where it stopped.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserError
from app.workspace import Workspace


@dataclass
class DemoOptions:
    minutes: float = 12.0       # training budget
    model: str = "SAE"
    engine: str = "torch"
    fresh: bool = False         # clear the workspace's generated folders first
    score_frames: int = 0       # 0: score every merged frame
    iterations: int | None = None  # train to this iteration instead (host-load independent)


def _cli(ws: Workspace, *argv: str) -> None:
    """Run one step as `python -m app --workspace WS ...`; a failing step stops the demo."""
    from app.cli.main import main

    code = main(["--workspace", str(ws.root), *argv])
    if code != 0:
        raise UserError(f"demo: step `{' '.join(argv)}` failed (exit {code}); fix what it "
                        "reported and run the demo again: finished steps are kept")


def _has_files(folder: Path, pattern: str = "*") -> bool:
    return folder.is_dir() and any(folder.glob(pattern))


def run_demo(ws: Workspace, opts: DemoOptions) -> dict:
    """Run every step; returns figures (times per step, swap score)."""
    os.environ["FACESTUDIO_ASK"] = "0"  # no questions: every step takes its defaults
    times: dict[str, float] = {}

    def step(name: str, fn) -> None:
        t0 = time.perf_counter()
        print(f"\n== demo: {name}", flush=True)
        fn()
        times[name] = time.perf_counter() - t0

    if opts.fresh:
        step("clear workspace", lambda: _cli(ws, "workspace", "clear", "--yes"))
    for side in ("src", "dst"):
        if not _has_files(ws.frames_dir(side), "*.png") and not _has_files(ws.frames_dir(side),
                                                                           "*.jpg"):
            step(f"extract {side} frames", lambda s=side: _cli(ws, "video", "extract", s,
                                                                "--format", "png"))
        step(f"extract {side} faces", lambda s=side: _cli(ws, "extract", s, "--detector", "fast"))
    step("train", lambda: _train(ws, opts))
    step("merge", lambda: _merge(ws, opts))
    step("assemble", lambda: _cli(ws, "video", "assemble", "--format", "mp4"))
    score = _score(ws, opts)
    return {"times": times, "score": score}


def _train(ws: Workspace, opts: DemoOptions) -> None:
    from app.train.api import train

    options, general = demo_model_options(opts.model)
    budget = None if opts.iterations else opts.minutes * 60
    result = train(ws, opts.model, options=options, general=general, target_iter=opts.iterations,
                   time_budget_s=budget, engine=opts.engine, progress=True)
    print(f"trained to iteration {result.iteration} ({result.ms_per_step:.0f} ms/step, "
          f"stopped: {result.stopped})")


def demo_model_options(model: str) -> tuple[dict, dict]:
    """Small, quick-to-learn settings: the demo must show a real swap within its budget.

    SAE-df at 64 px with the smallest dims trains at about 0.16 s/step (batch 8) on a 2-core
    AVX-512 CPU, so a 12-minute budget gives about 4,400 iterations; at lr 3e-4 (DFL: 5e-5) the
    loss after 400 steps is 0.64 instead of 0.89, so the swap is clear within the budget.

    Fed sorted by yaw (each dst face with src faces, mirrored ones included, of its own pose, then
    DFL's random flip on top): a src filmed turned the other way otherwise keeps its own pose (GRID
    f1 onto m1: yaw error 12.7 degrees). DFL 1.0's multiscale decoder (the face also learned at 1/2
    and 1/4 size, 5 % more time a step in the demo) makes the coarse layout, the head's turn
    included, count more: on that pair, four seeds at 3,992 iterations, the swap's yaw error was
    2.0-3.5 degrees with the demo's overlay merge (single scale: 2.2-5.1); the face comes out a
    little softer (bench/RESULTS.md).

    Merged with the weights' running average (ema_decay 0.99, app.models.weight_average): at lr
    3e-4 the training weights jump about, and a snapshot's pose is a draw. The same four runs at
    4,374 iterations gave 10.2 / 4.0 / 2.7 / 5.8 degrees with the training weights and 6.5 (at
    4,400) / 2.1 / 3.6 / 3.4 with the average; on the other two pairs yaw 2.4 -> 2.3 and
    3.1 -> 2.6, sharpness 0.01-0.10 lower everywhere (bench/RESULTS.md).
    """
    general = {"batch_size": 8, "random_flip": True, "learning_rate": 3e-4, "sort_by_yaw": True,
               "ema_decay": 0.99}
    if model == "SAE":
        return ({"resolution": 64, "face_type": "full", "archi": "df", "ae_dims": 128,
                 "e_ch_dims": 21, "d_ch_dims": 11, "learn_mask": False,
                 "multiscale_decoder": True}, general)
    return {}, general


#: DeepFaceLab 2.0's default mode and colour transfer: the face overlaid on dst inside dst's
#: landmark hull (blurred edge; DFL 2.0's default mask is its learned XSeg mask), rct colour. Until
#: 2026-12-07 the demo merged seamless (Poisson) into the same hull: on the pair whose src was
#: filmed turned the other way, the same models' swapped heads came out up to 2.5 degrees less
#: turned than dst as dlib reads them (6 without the upscaler); overlay is also sharper and flickers
#: less, its seam step is mixed (bench/RESULTS.md)
BASE_MERGE_FLAGS = ("--mode", "overlay", "--mask-mode", "dst", "--color-transfer", "rct")
#: the demo merge before 2026-12-07 (bench/quality.py's "seamless" rows)
SEAMLESS_MERGE_FLAGS = ("--mode", "seamless")
#: what the demo adds since: the x2 upscaler trained on the src faces (~30 s on 2 cores) and
#: DeepFaceLab 2.0's gaussian sharpen at 2. bench/quality.py measured it against plain merges of
#: the same 12-minute models on three pairs (bench/RESULTS.md): sharpness x2.2-3.4, steadier
#: frames, identity unchanged, mouth opening and head pose a little less exact (README, "What
#: the demo gives")
SHARPER_MERGE_FLAGS = ("--super-resolution", "--sharpen-mode", "gaussian", "--sharpen", "2")


def _merge(ws: Workspace, opts: DemoOptions) -> None:
    _cli(ws, "merge", opts.model, *BASE_MERGE_FLAGS, *SHARPER_MERGE_FLAGS,
         "--engine", opts.engine)


def _score(ws: Workspace, opts: DemoOptions):
    """app.quality's scores of the merged frames against the dst frames they replaced."""
    from app.quality import score_frames

    merged = sorted(ws.merged_dir.glob("*.png")) + sorted(ws.merged_dir.glob("*.jpg"))
    if opts.score_frames and len(merged) > opts.score_frames:
        merged = merged[:: max(1, len(merged) // opts.score_frames)]
    src = sorted(p for p in ws.frames_dir("src").iterdir() if p.suffix in (".png", ".jpg"))
    dst = {p.stem: p for p in ws.frames_dir("dst").iterdir() if p.suffix in (".png", ".jpg")}
    merged = [p for p in merged if p.stem in dst]
    rng = random.Random(0)
    return score_frames(merged, [dst[p.stem] for p in merged], rng.sample(src, min(30, len(src))),
                        rng.sample(sorted(dst.values()), min(30, len(dst))))
