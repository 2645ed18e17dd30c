"""Layers import downward only: cli -> steps -> models -> app's base -> backends.

Walks every module of app/ and backends/ with `ast` (no import runs) and fails on an import that
points up a layer, on any import of `app` from `backends`, on `app.cli` imported outside app/cli,
and on a cycle between packages of the same layer (e.g. extract <-> faceset).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: rank of each package; an import may only go to the same rank or lower. A single module at
#: the top of app/ not listed here is app's base (rank 1); a new package must be placed here.
LAYERS = {
    "backends": 0,
    # app's base: the error type, atomic writes, option tables, registries, the workspace
    "app": 1, "app.errors": 1, "app.fileio": 1, "app.options": 1, "app.registry": 1,
    "app.workspace": 1, "app.workspace_ops": 1, "app.progress": 1, "app.dlib_models": 1,
    "app.frame_files": 1,
    "app.models": 2,
    # the steps (and what only they use)
    "app.video": 3, "app.extract": 3, "app.faceset": 3, "app.train": 3, "app.merge": 3,
    "app.masknet": 3, "app.identity": 3, "app.quality": 3, "app.ui": 3,
    "app.cli": 4, "app.__main__": 4,
}


def package_of(module: str) -> str:
    """`backends`, `app` (the package itself) or `app.<first part>`."""
    parts = module.split(".")
    if parts[0] == "backends":
        return "backends"
    return "app" if len(parts) == 1 else f"app.{parts[1]}"


def imports(path: Path, module: str):
    """(imported module, line) for every import in the file, relative ones resolved."""
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: None if is_pkg else -1]
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield name, node.lineno


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_edges(extra: tuple[tuple[Path, str], ...] = ()) -> dict[tuple[str, str], list[str]]:
    """(from package, to package) -> ["file:line", ...] for imports between packages, over the
    repository's modules plus `extra` (path, module name) pairs."""
    files = [(path, module_name(path)) for top in ("app", "backends")
             for path in sorted((REPO / top).rglob("*.py"))]
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path, module in [*files, *extra]:
        for target, line in imports(path, module):
            if target.split(".")[0] not in ("app", "backends"):
                continue
            a, b = package_of(module), package_of(target)
            if a != b:
                edges[(a, b)].append(f"{path.name}:{line}")
    return edges


def rank(package: str) -> int:
    if package in LAYERS:
        return LAYERS[package]
    if (REPO / f"{package.replace('.', '/')}.py").is_file():
        return 1  # a module at the top of app/: part of app's base
    raise AssertionError(f"{package}: a new package; give it a layer in tests/test_layers.py")


def test_every_package_has_a_layer():
    for edge in package_edges():
        for package in edge:
            rank(package)


def test_imports_point_down_only():
    wrong = [f"{a} -> {b} ({', '.join(where)})" for (a, b), where in package_edges().items()
             if rank(b) > rank(a)]
    assert not wrong, "\n".join(wrong)


def test_backends_stand_alone_and_cli_is_imported_only_by_itself():
    edges = package_edges()
    into_app = [f"{b}: {w}" for (a, b), w in edges.items() if a == "backends"]
    assert not into_app, into_app
    into_cli = [f"{a}: {w}" for (a, b), w in edges.items()
                if b == "app.cli" and a not in ("app.cli", "app.__main__")]
    assert not into_cli, into_cli


def test_no_cycle_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in package_edges():
        graph[a].add(b)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
        return False

    cycles = sorted(f"{a} -> {b} -> ... -> {a}" for a in list(graph) for b in graph[a]
                    if reaches(b, a))
    assert not cycles, cycles


def test_the_walker_sees_a_wrong_way_arrow(tmp_path):
    """The check can fail: a models module importing the CLI (and one backends module reaching
    into app) are reported; a relative import inside a package is not an edge."""
    probe = tmp_path / "probe.py"
    probe.write_text("from app.cli.ask import ask\nfrom . import options\n")
    engine = tmp_path / "engine.py"
    engine.write_text("import numpy\n\ndef f():\n    from app.errors import UserError\n")
    edges = package_edges(((probe, "app.models.probe"), (engine, "backends.probe")))
    assert edges[("app.models", "app.cli")] == ["probe.py:1"]
    assert edges[("backends", "app.errors")] == ["engine.py:4"]
    assert LAYERS["app.cli"] > LAYERS["app.models"]
