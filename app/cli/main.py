"""`python -m app <command>`: the parser and the one place errors become messages.

Command modules are listed in COMMANDS; each has `register(subparsers)` that adds its parser and
sets `run`. They import only light modules at top level; the heavy work is imported inside `run`,
so start-up stays fast whatever the command.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from pathlib import Path

from app import __version__
from app.errors import UserError
from app.workspace import ENV_VAR
from backends.errors import BackendError

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


#: flags naming a folder / a file the command writes: checked before any work starts
FOLDER_FLAGS = ("model_dir", "src_dir", "dst_dir", "pretrain_dir", "frames", "dir")
FILE_FLAGS = ("output", "out")
#: the parsed arguments that together name the step (`extract src`, `faceset sort`)
STEP_ARGS = ("command", "action", "faceset_command", "mask_command", "side")


def check_path_flags(args: argparse.Namespace) -> None:
    """A file given where a folder is expected, or a folder where a file is written, is a
    UserError now, not a traceback after a model was built or a whole video encoded."""
    from app.workspace import Workspace, folder

    if args.workspace is not None or os.environ.get(ENV_VAR) is not None:
        Workspace.resolve(args.workspace)   # empty, or a file: refused whatever the command
    for name in FOLDER_FLAGS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value:
            folder(Path(value), f"--{name.replace('_', '-')} (a folder)")
    for name in FILE_FLAGS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value and Path(value).is_dir():
            raise UserError(f"is a folder, but --{name} writes a file: give a file name", value)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_path_flags(args)
        result = args.run(args)
    except BackendError as exc:  # app.errors.UserError is one too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n" + getattr(args, "on_interrupt", "interrupted: work done so far is kept; run "
                                                    "the same command to resume."),
              file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory. Lower the batch size, the model dims or the resolution.",
              file=sys.stderr)
        return 3
    except OSError as exc:
        message = write_error_message(exc)
        if message is None:
            return report_crash(args, exc)
        print(f"error: {message}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line for the user, the traceback for the report
        return report_crash(args, exc)
    return int(result or 0)


def report_crash(args: argparse.Namespace, exc: BaseException) -> int:
    """One line naming the step and the file it was working on, and the log file holding the
    full traceback (in the workspace's `logs/`, else the temporary folder), to attach to an
    issue. Exit code 1: this is the program's fault, not the input's."""
    import traceback

    from app.errors import current_file

    step = " ".join(getattr(args, k) for k in STEP_ARGS if isinstance(getattr(args, k, None), str))
    working = getattr(exc, "filename", None) or current_file()
    text = "".join(traceback.format_exception(exc))
    log = _write_crash_log(args, step, working, text)
    where = f" while working on {working}" if working else ""
    saved = f"the full report is in {log}" if log else "the report could not be written:\n" + text
    print(f"error: {step} stopped by an unexpected {type(exc).__name__}{where}: {exc}. This is "
          f"a bug; work already done is kept; {saved} (please attach it to an issue)",
          file=sys.stderr)
    return 1


def _write_crash_log(args: argparse.Namespace, step: str, working: object,
                     text: str) -> Path | None:
    import tempfile
    import time

    from app.fileio import atomic_write_text
    from app.workspace import Workspace

    try:
        root = Workspace.resolve(getattr(args, "workspace", None)).root
    except UserError:
        root = None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    body = (f"facestudio {__version__}, python {sys.version.split()[0]}, {sys.platform}\n"
            f"command: {' '.join(sys.argv)}\nstep: {step}\nworking on: {working}\n\n{text}")
    for folder in ([root / "logs"] if root is not None and root.is_dir() else []) + \
            [Path(tempfile.gettempdir())]:
        path = folder / f"crash-{stamp}-{os.getpid()}.log"
        try:
            folder.mkdir(exist_ok=True)
            atomic_write_text(path, body)
            return path
        except OSError:
            continue
    return None


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
