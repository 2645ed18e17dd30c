"""`python -m app <command>`: the parser and the one place errors become messages.

Command modules are listed in COMMANDS; each has `register(subparsers)` that adds its parser and
sets `run`. They import only light modules at top level; the heavy work is imported inside `run`,
so start-up stays fast whatever the command.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from pathlib import Path

from app import __version__
from app.errors import UserError

#: one entry per pipeline step (DeepFaceLab's numbered launchers), plus tools.
COMMANDS = [
    "workspace",  # 1) clear workspace
    "video",      # 2, 3, 8) extract / cut / denoise / assemble
    "extract",    # 4, 5) faces from frames
    "faceset",    # 4) face set tools: info, sort, view
    "mask",       # 5) mask editor
    "train",      # 6) train a model
    "merge",      # 7) merge predicted faces into dst frames
    "export",     # a trained model as DFM (DeepFaceLive) / ONNX
    "devices",    # backends: what the machine has and what would be picked
    "demo",       # the whole pipeline on the sample workspace, no questions
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description="Face-replacement studio (DeepFaceLab 1.0 workflow). Outputs are labelled "
                    "as altered media. For film, VFX, research and consenting people only.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--workspace", metavar="DIR", default=None,
                        help="workspace folder (default: $FACESTUDIO_WORKSPACE or ./workspace)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"app.cli.cmd_{name}")
        module.register(sub)
    for command in sub.choices.values():
        _accept_workspace_after(command)
    return parser


def _accept_workspace_after(parser: argparse.ArgumentParser) -> None:
    """`--workspace DIR` after the command too (`extract src --workspace DIR`), in every
    sub-command. SUPPRESS leaves the value given before the command alone when it is absent."""
    if "--workspace" not in parser._option_string_actions:
        parser.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS,
                            help="workspace folder (also accepted before the command)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _accept_workspace_after(child)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: work done so far is kept; run the same command to resume.",
              file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory. Lower the batch size, the model dims or the resolution.",
              file=sys.stderr)
        return 3
    except OSError as exc:
        message = write_error_message(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    return int(result or 0)


#: failures of the machine, not of the program: read-only or full disk, no permission.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EROFS, errno.EACCES, errno.EPERM}


def write_error_message(exc: OSError) -> str | None:
    """One line for a full or read-only disk (any step, any file), else None (a real bug).

    Writes are atomic, so what was written before is intact: the message says so. A temporary
    file's name means nothing to the user, so its folder is named instead.
    """
    if exc.errno not in _FULL | _DENIED:
        return None
    where = Path(exc.filename) if exc.filename else None
    if where is not None and where.name.startswith("."):
        where = where.parent
    prefix = f"{where}: " if where is not None else ""
    if exc.errno in _FULL:
        return (f"{prefix}the disk is full ({exc.strerror}). Free some space and run the same "
                "command again; work already done is kept.")
    return (f"{prefix}cannot write here ({exc.strerror}). Make the folder writable or choose "
            "another workspace/output folder; work already done is kept.")
