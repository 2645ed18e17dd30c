"""`python -m app devices`: what compute devices this machine has and which a run would pick.

The device question other steps ask is `app.cli.ask.ask_device_spec`.
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("devices", help="list GPUs/OpenCL devices/CPU and show which would be used")
    p.add_argument("--device", default=None, metavar="IDX|best|all|cpu",
                   help="show what this choice would pick (default: best)")
    p.set_defaults(run=run)


def run(args) -> int:
    from backends.devices import report, parse_spec
    parse_spec(args.device)   # a bad value is a UserError before the slow probing
    print(report(args.device))
    return 0
