"""`python -m app devices`: placeholder until its part lands (see docs/INTERFACES.md)."""

from app.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("devices", help="(devices: not yet available)")
    p.set_defaults(run=run)


def run(args) -> int:
    raise UserError("the 'devices' step is not available in this build yet")
