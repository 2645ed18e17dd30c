"""Atomic writes keep the old file on failure and give new files the usual permissions."""

import os

import pytest

from app.fileio import atomic_path, atomic_write_bytes


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_new_files_follow_the_umask_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "frame.png", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "frame.png").stat().st_mode & 0o777 == 0o644
