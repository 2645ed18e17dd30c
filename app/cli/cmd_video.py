"""`python -m app video`: placeholder until its part lands (see docs/INTERFACES.md)."""

from app.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("video", help="(video: not yet available)")
    p.set_defaults(run=run)


def run(args) -> int:
    raise UserError("the 'video' step is not available in this build yet")
