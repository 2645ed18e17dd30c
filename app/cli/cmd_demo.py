"""`python -m app demo`: every step on the sample workspace, no questions (README's main command)."""

from __future__ import annotations

from app.cli.ask import number
from backends import ENGINES
from app.models import model_names


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on the workspace, no questions",
                       description=__doc__)
    p.add_argument("--minutes", type=number, default=12.0,
                   help="training budget in minutes (default 12; the demo takes ~15 in all "
                        "on a 2-core CPU)")
    p.add_argument("--iterations", type=int, default=None,
                   help="train to this iteration instead of for --minutes (same result on a "
                        "busy or idle machine)")
    p.add_argument("--model", default="SAE", choices=model_names())
    p.add_argument("--engine", default="torch", choices=ENGINES)
    p.add_argument("--fresh", action="store_true",
                   help="clear frames, faces and model first (the videos stay)")
    p.add_argument("--score-frames", type=int, default=0,
                   help="score only this many merged frames (default: all)")
    p.set_defaults(run=run)


def run(args) -> int:
    from app.cli.demo import DemoOptions, run_demo
    from app.workspace import Workspace

    ws = Workspace.resolve(args.workspace)
    figures = run_demo(ws, DemoOptions(minutes=args.minutes, model=args.model,
                                       engine=args.engine, fresh=args.fresh,
                                       score_frames=args.score_frames,
                                       iterations=args.iterations))
    score = figures["score"]
    print("\n== demo finished")
    for name, seconds in figures["times"].items():
        print(f"  {name:<22} {seconds:7.1f} s")
    print(f"result: {ws.root / 'result.mp4'}")
    for line in score.lines():
        print(line)
    return 0
