"""Helpers for the fault tests (test_bad_input, test_kill_*), plus their own self-test.

Run the app as a user does, break disks, craft bad face files.

Read-only and full disks are real mounts (a read-only bind mount, a tiny tmpfs) because the
tests run as root, for whom chmod does not stop writes. Where mounting is not allowed the caller
falls back (chmod for a non-root user) or skips.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MEDIA = Path(__file__).parent / "media"


def run_app(*argv: str, workspace: Path | None = None, timeout: float = 180,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m app ...` with stdin closed and questions off (as a script or launcher runs it)."""
    args = [sys.executable, "-m", "app"]
    if workspace is not None:
        args += ["--workspace", str(workspace)]
    full_env = dict(os.environ, FACESTUDIO_ASK="0", PYTHONIOENCODING="utf-8")
    full_env.update(env or {})
    return subprocess.run(args + [str(a) for a in argv], cwd=REPO, env=full_env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` (the work a failed command must not lose)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def lost_files(before: dict[str, str], root: Path) -> list[str]:
    """Files of `before` that are gone or changed now."""
    now = snapshot(root)
    return [name for name, digest in before.items() if now.get(name) != digest]


# ---------------------------------------------------------------- disks

class Mounts:
    """Mounts made by a test, undone at the end (innermost first)."""

    def __init__(self) -> None:
        self.points: list[Path] = []

    def readonly(self, folder: Path) -> None:
        """Make `folder` read-only for this process and its children, or skip the test."""
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            for p in [folder, *folder.rglob("*")]:
                if p.is_dir():
                    p.chmod(0o555)
            return
        ok = subprocess.run(["mount", "--bind", str(folder), str(folder)],
                            capture_output=True).returncode == 0
        if ok:
            self.points.append(folder)
            ok = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)],
                                capture_output=True).returncode == 0
        if not ok:
            pytest.skip("cannot make a read-only folder here (root without mount rights)")

    def tiny_disk(self, folder: Path, kib: int) -> None:
        """Mount a `kib` KiB tmpfs on `folder` (a full disk on demand), or skip the test."""
        folder.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs",
                               str(folder)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip("cannot mount a small tmpfs here to simulate a full disk")
        self.points.append(folder)

    def fill(self, folder: Path) -> None:
        """Fill the disk under `folder` up to the last block."""
        with open(folder / "filler.bin", "wb", buffering=0) as fh:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        fh.write(b"\0" * size)
                except OSError:
                    pass

    def undo(self) -> None:
        for point in reversed(self.points):
            subprocess.run(["umount", "-l", str(point)], capture_output=True)
        self.points.clear()


def can_mount() -> bool:
    return os.geteuid() == 0


# ---------------------------------------------------------------- crafted JPEG segments

def jpeg_segment(marker: int, body: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


def insert_after_soi(jpeg: bytes, *segments: bytes) -> bytes:
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def app15_face_segment(payload: bytes, index: int = 0, total: int = 1) -> bytes:
    """An APP15 segment in our format (magic, part index, part count, payload)."""
    from app.faceset.face_file import JPEG_MAGIC
    return jpeg_segment(0xEF, JPEG_MAGIC + bytes([index, total]) + payload)


def plain_jpeg(src: Path) -> bytes:
    """The pixels of `src` re-encoded as a JPEG with no metadata of ours."""
    import cv2
    ok, buf = cv2.imencode(".jpg", cv2.imread(str(src)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


# ---------------------------------------------------------------- self-test

def test_snapshot_sees_changed_and_missing_files(tmp_path):
    (tmp_path / "a").write_bytes(b"1")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b").write_bytes(b"2")
    before = snapshot(tmp_path)
    assert lost_files(before, tmp_path) == []
    (tmp_path / "a").write_bytes(b"changed")
    (tmp_path / "d" / "b").unlink()
    (tmp_path / "new").write_bytes(b"added files are not lost work")
    assert sorted(lost_files(before, tmp_path)) == ["a", "d/b"]
