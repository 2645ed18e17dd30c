"""`python -m app workspace clear`: step 1, create or empty the workspace folders."""

from __future__ import annotations

from app.cli.ask import ask_bool, interactive


def register(sub) -> None:
    p = sub.add_parser("workspace", help="1) create or clear the workspace folders")
    wsub = p.add_subparsers(dest="action", metavar="ACTION")
    wsub.required = True
    c = wsub.add_parser("clear", help="create the folders, or empty them after asking")
    c.add_argument("--yes", action="store_true",
                   help="empty without asking (needed when there is no terminal)")
    c.set_defaults(run=run_clear)


def run_clear(args) -> int:
    from app.workspace import Workspace
    from app.workspace_ops import clear_workspace, content_summary, workspace_has_content

    ws = Workspace.resolve(args.workspace)
    if workspace_has_content(ws):
        summary = content_summary(ws) or ["files in subfolders of data_src, data_dst or model"]
        print(f"{ws.root} holds:\n  " + "\n  ".join(summary))
        if not args.yes:
            if not interactive():
                print(f"{ws.root} has frames, faces or a model. Nothing was deleted: run with "
                      "--yes to empty it.")
                return 1
            if not ask_bool(f"Delete all frames, faces, merged frames and models in {ws.root}?",
                            False):
                print("Nothing deleted.")
                return 1
    clear_workspace(ws)
    print(f"workspace ready: {ws.root}")
    return 0
