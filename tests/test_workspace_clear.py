"""`workspace clear`: creates the folders, never deletes without --yes or a yes, keeps videos."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.workspace import Workspace
from app.workspace_ops import clear_workspace, workspace_has_content

REPO = Path(__file__).resolve().parent.parent


def clear(ws: Path, *flags, ask=False, stdin=""):
    env = dict(os.environ, FACESTUDIO_ASK="1" if ask else "0")
    env.pop("FACESTUDIO_WORKSPACE", None)
    return subprocess.run([sys.executable, "-m", "app", "--workspace", str(ws), "workspace",
                           "clear", *flags], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def filled(tmp_path) -> Path:
    for name in ("data_src.mp4", "data_dst.mpg", "result.mp4"):
        (tmp_path / name).write_bytes(b"video " + name.encode())
    for rel in ("data_src/00001.png", "data_src/aligned/00001_0.jpg", "data_dst/00001.png",
                "data_dst/aligned/00001_0.jpg", "data_dst/merged/00001.png",
                "model/SAE_data.safetensors"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    return tmp_path


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_creates_the_folders_in_a_new_workspace(tmp_path):
    root = tmp_path / "new"
    proc = clear(root)
    assert proc.returncode == 0, proc.stderr
    for d in Workspace(root).all_dirs():
        assert d.is_dir()


def test_never_deletes_without_yes(filled):
    before = files(filled)
    proc = clear(filled)  # no terminal, no --yes
    assert proc.returncode != 0 and "--yes" in proc.stdout
    assert files(filled) == before
    for answer in ("n\n", "\n", "maybe\nno\n", ""):  # "no", the default (no), EOF
        proc = clear(filled, ask=True, stdin=answer)
        assert proc.returncode != 0 and "Delete all" in proc.stdout
        assert files(filled) == before


@pytest.mark.parametrize("how", ["flag", "answer"])
def test_clearing_keeps_the_videos(filled, how):
    proc = clear(filled, "--yes") if how == "flag" else clear(filled, ask=True, stdin="y\n")
    assert proc.returncode == 0, proc.stderr
    assert files(filled) == {"data_src.mp4", "data_dst.mpg", "result.mp4"}
    assert (filled / "data_dst.mpg").read_bytes() == b"video data_dst.mpg"
    for d in Workspace(filled).all_dirs():
        assert d.is_dir()


def test_has_content_and_clear_in_process(filled):
    ws = Workspace(filled)
    assert workspace_has_content(ws)
    clear_workspace(ws)
    assert not workspace_has_content(ws)
    assert (filled / "data_src.mp4").exists()


def test_lists_what_would_be_deleted_before_asking(filled):
    proc = clear(filled, ask=True, stdin="n\n")
    assert "data_src: 1 files" in proc.stdout and "data_dst/merged: 1 files" in proc.stdout
    assert "model: 1 files" in proc.stdout
    assert proc.stdout.index("model: 1 files") < proc.stdout.index("Delete all")
