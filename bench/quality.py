"""Swap quality per recipe and merge setting on several src/dst pairs at a fixed budget.

Each pair gets a workspace (frames and faces extracted once through the CLI); each recipe trains
its own model there to the same budget, then every merge variant (the demo's base flags plus the
variant's) is merged and scored by app.quality (independent of the training code: dlib's
detector, landmarks and recognition net, OpenCV). One table row per pair, recipe and merge:

    python bench/quality.py --minutes 12 --pairs sample --recipes demo   # the demo's budget
    python bench/quality.py --iterations 300 --recipes demo hd-d96       # 3 pairs
    python bench/quality.py --no-train --work /tmp/q                     # re-merge, re-score

Recipes: demo (the demo's SAE-df 64 px with the multiscale decoder, fed sorted by yaw),
demo-single (the same with one output scale, the demo's model until 2026-12-07; with today's
weight average), demo-unsorted (the demo fed in shuffled epochs), demo-liae (archi liae),
demo-em (with DFL 2.0's eyes-and-mouth priority), hd-d96 / hd-d128 (SAEHD -ud at 96 / 128 px),
amp-64 (AMP at 64 px, small dims, DFL's learning rate). Merges: plain (overlay into the dst hull,
rct), superres+sharpen2 (the demo's merge), sharpen2 / sharpen4 / superres alone, seamless and
seamless+superres+sharpen2 (Poisson cloning: the demo's mode until 2026-12-07). (A second
training in the same process used to run 1.7x slower per step: merge left torch at one thread.
It gives the cores back now.)

Columns: id share (result frames nearer the src centroid than the dst centroid), id ratio
d_dst/(d_src+d_dst), yaw and pitch error vs dst (degrees), mouth r (correlation of the
inner-mouth opening with dst), gaze (pupil position error in eye widths), sharp (var of
Laplacian inside the face, result/dst), seam dLab (colour step across the face edge beyond
dst's own), seam grad (edge gradient result/dst), flicker (frame-to-frame face change
result/dst). --minutes is the demo's kind of budget but needs an idle host; --iterations
compares runs on a shared one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "video"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/video")

# name: (src video, dst video); the sample pair ships in workspace/
PAIRS = {
    "sample": (REPO / "workspace" / "data_src.mp4", REPO / "workspace" / "data_dst.mpg"),
    "s2>f1": (DATA / "grid_s2_a.mpg", DATA / "grid_f1.mpg"),
    "f1>m1": (DATA / "grid_f1.mpg", DATA / "grid_m1.mpg"),
    "pexels>s2": (DATA / "pexels_expressions.mp4", DATA / "grid_s2_b.mpg"),
}
from app.cli.demo import BASE_MERGE_FLAGS as MERGE_FLAGS  # noqa: E402
from app.cli.demo import SEAMLESS_MERGE_FLAGS, SHARPER_MERGE_FLAGS  # noqa: E402
#: merge settings scored for each trained model: name -> flags added to MERGE_FLAGS (a row per
#: model and variant, so what the merge adds is told apart from what the model learned)
MERGE_VARIANTS = {
    "plain": (),
    "sharpen2": ("--sharpen-mode", "gaussian", "--sharpen", "2"),
    "sharpen4": ("--sharpen-mode", "gaussian", "--sharpen", "4"),
    "superres": ("--super-resolution",),
    "superres+sharpen2": SHARPER_MERGE_FLAGS,     # the demo's merge
    # the same two with seamless (Poisson) cloning, the demo's mode until 2026-12-07
    "seamless": SEAMLESS_MERGE_FLAGS,
    "seamless+superres+sharpen2": SEAMLESS_MERGE_FLAGS + SHARPER_MERGE_FLAGS,
}


def recipes() -> dict[str, tuple[str, dict, dict]]:
    """name: (model, model options, trainer options). 'demo' is today's `app demo` recipe."""
    from app.cli.demo import demo_model_options
    sae_options, general = demo_model_options("SAE")
    out = {"demo": ("SAE", sae_options, general)}
    # one output scale (no multiscale decoder), as the demo's model was until 2026-12-07; the
    # trainer options are today's (the weight average included)
    out["demo-single"] = ("SAE", {**sae_options, "multiscale_decoder": False}, general)
    # the same at liae: one decoder fed by inter_AB (and inter_B for dst), which DFL's users
    # pick when the swap must follow dst's pose and expression more than df does
    out["demo-liae"] = ("SAE", {**sae_options, "archi": "liae"}, general)
    # with DFL 2.0's eyes-and-mouth priority (300 x L1 inside the eyes and inner mouth)
    out["demo-em"] = ("SAE", {**sae_options, "eyes_mouth_prio": True}, general)
    # the demo's model fed as before sort_by_yaw became its default (2026-12-07): src faces
    # drawn in shuffled epochs, not by dst's pose (it has the multiscale decoder, as the demo now)
    out["demo-unsorted"] = ("SAE", sae_options, {**general, "sort_by_yaw": False})
    # SAEHD -d: the decoder doubles its last layer's side to the output (96 or 128 px) at small
    # dims, eyes and mouth weighed up, DFL's learning rate (at SAE's 3e-4 SAEHD's src decoder
    # collapsed to a flat colour within 50 steps on the sample pair)
    hd = {"face_type": "f", "archi": "df-ud", "ae_dims": 128, "e_dims": 32, "d_dims": 32,
          "d_mask_dims": 16, "eyes_mouth_prio": True, "masked_training": True}
    hd_general = {**general, "learning_rate": 5e-5}
    out["hd-d96"] = ("SAEHD", {**hd, "resolution": 96}, hd_general)
    out["hd-d128"] = ("SAEHD", {**hd, "resolution": 128}, hd_general)
    # AMP (DFL 2.0's morphing model) at the demo's 64 px and small dims, DFL's learning rate
    amp = {"resolution": 64, "face_type": "f", "ae_dims": 128, "inter_dims": 256, "e_dims": 32,
           "d_dims": 32, "d_mask_dims": 16}
    out["amp-64"] = ("AMP", amp, hd_general)
    return out


def cli(ws: Path, *argv: str) -> None:
    from app.cli.main import main
    code = main(["--workspace", str(ws), *argv])
    if code != 0:
        raise SystemExit(f"step {' '.join(argv)} failed in {ws} (exit {code})")


def prepare_pair(work: Path, name: str) -> Path:
    """A workspace with the pair's frames and faces (kept between runs)."""
    src, dst = PAIRS[name]
    base = work / name.replace(">", "_to_") / "base"
    if (base / "data_dst" / "aligned").is_dir():
        return base
    base.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, base / f"data_src{src.suffix}")
    shutil.copy2(dst, base / f"data_dst{dst.suffix}")
    for side in ("src", "dst"):
        cli(base, "video", "extract", side, "--format", "png")
        cli(base, "extract", side, "--detector", "fast")
    return base


def run_recipe(root: Path, spec, iterations: int | None, minutes: float | None = None,
               train_more: bool = True, seed: int = 0) -> tuple[int, float, float]:
    """Train (or resume) the recipe's model in `root`, its own copy of the pair's workspace;
    returns (iteration reached, ms/step, seconds trained)."""
    from app.train.api import train
    from app.workspace import Workspace

    model, options, general = spec
    ws = Workspace(root)
    t0 = time.perf_counter()
    if train_more:
        result = train(ws, model, options=options, general=general,
                       target_iter=None if minutes else iterations,
                       time_budget_s=minutes * 60 if minutes else None, seed=seed)
        return result.iteration, result.ms_per_step, time.perf_counter() - t0
    saved = json.loads((ws.model_dir / f"{model}_data.json").read_text())
    return saved["iteration"], float("nan"), 0.0


def merge_and_score(root: Path, model: str, variant: str, score_frames: int):
    """Merge with MERGE_FLAGS + the variant's flags and score a window of the merged frames."""
    from app.quality import score_frames as score
    from app.workspace import Workspace

    ws = Workspace(root)
    shutil.rmtree(ws.merged_dir, ignore_errors=True)
    cli(root, "merge", model, *MERGE_FLAGS, *MERGE_VARIANTS[variant])
    dst = sorted(ws.frames_dir("dst").glob("*.png"))
    src = sorted(ws.frames_dir("src").glob("*.png"))
    # consecutive frames, so flicker compares neighbours: a window from the clip's middle
    start = max(0, (len(dst) - score_frames) // 2) if score_frames else 0
    picked = dst[start:start + score_frames] if score_frames else dst
    rng = random.Random(0)
    return score([ws.merged_dir / p.name for p in picked], picked,
                 rng.sample(src, min(30, len(src))), rng.sample(dst, min(30, len(dst))))


def main(argv=None) -> int:
    os.environ.setdefault("FACESTUDIO_ASK", "0")
    all_recipes = recipes()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--iterations", type=int, default=600)
    ap.add_argument("--minutes", type=float,
                    help="train each recipe for this wall-clock budget instead (idle host only: "
                         "the demo's budget is 12 minutes)")
    ap.add_argument("--pairs", nargs="+", default=["sample", "s2>f1", "f1>m1"],
                    choices=list(PAIRS))
    ap.add_argument("--recipes", nargs="+", default=list(all_recipes), choices=list(all_recipes))
    ap.add_argument("--merges", nargs="+", default=["plain", "superres+sharpen2"],
                    choices=list(MERGE_VARIANTS), help="merge settings scored per model")
    ap.add_argument("--no-train", action="store_true",
                    help="merge and score the models the workspaces hold (after a change to "
                         "merge or to the scores)")
    ap.add_argument("--score-frames", type=int, default=25,
                    help="consecutive dst frames scored per pair (0: all)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/facestudio_quality"))
    ap.add_argument("--seed", type=int, default=0,
                    help="training seed (weights and batches); another seed trains in its own "
                         "folder, RECIPE-seedN: how much the scores vary from run to run")
    args = ap.parse_args(argv)
    from app.quality import QualityReport

    rows = []
    for pair in args.pairs:
        base = prepare_pair(args.work, pair)
        for name in args.recipes:
            spec = all_recipes[name]
            root = base.parent / (name if not args.seed else f"{name}-seed{args.seed}")
            if not root.is_dir():
                shutil.copytree(base, root)
            it, ms, secs = run_recipe(root, spec, args.iterations, args.minutes,
                                      not args.no_train, args.seed)
            for variant in args.merges:
                rep = merge_and_score(root, spec[0], variant, args.score_frames)
                row = f"{pair} | {rep.table_row(f'{name} {variant}')} | {it} | {ms:.0f}"
                rows.append(row)
                print("ROW", row, f"(trained {secs:.0f} s)", flush=True)
    header = "pair | " + QualityReport.table_header() + " | iterations | ms/step"
    print("\n| " + header + " |")
    print("|" + "---|" * (header.count("|") + 1))
    for row in rows:
        print("| " + row + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
