"""`python -m app devices`: what compute devices this machine has and which a run would pick.

Also holds the device question other steps ask (`ask_device`), in DeepFaceLab's words.
"""

from __future__ import annotations

from app.cli.ask import ask

HELP = ("GPU idx from `python -m app devices`, or: best (most memory), all (every GPU, DDP), "
        "cpu. The environment variable FACESTUDIO_DEVICE overrides this.")


def register(sub) -> None:
    p = sub.add_parser("devices", help="list GPUs/OpenCL devices/CPU and show which would be used")
    p.add_argument("--device", default=None, metavar="IDX|best|all|cpu",
                   help="show what this choice would pick (default: best)")
    p.set_defaults(run=run)


def ask_device(given: str | None = None) -> str | None:
    """DeepFaceLab's question; empty answer = system choice (None)."""
    ans = ask("Which GPU idx to choose?", None, str, help_text=HELP, given=given, skip="system choice")
    return ans or None


def run(args) -> int:
    from backends.devices import report, parse_spec
    parse_spec(args.device)   # a bad value is a UserError before the slow probing
    print(report(args.device))
    return 0
