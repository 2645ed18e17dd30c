"""`python -m app faceset`: placeholder until its part lands (see docs/INTERFACES.md)."""

from app.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("faceset", help="(faceset: not yet available)")
    p.set_defaults(run=run)


def run(args) -> int:
    raise UserError("the 'faceset' step is not available in this build yet")
