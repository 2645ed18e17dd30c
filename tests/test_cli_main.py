"""The top-level parser: options every command shares."""

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.main import build_parser

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("argv, expected", [
    (["--workspace", "A", "extract", "src"], "A"),
    (["extract", "src", "--workspace", "B"], "B"),
    (["video", "extract", "src", "--workspace", "C"], "C"),          # a nested command
    (["faceset", "sort", "src", "--by", "blur", "--workspace", "D"], "D"),
    (["--workspace", "A", "train", "SAE", "--workspace", "E"], "E"),  # the later one wins
    (["extract", "src"], None),
])
def test_workspace_is_accepted_before_and_after_the_command(argv, expected):
    assert build_parser().parse_args(argv).workspace == expected


def test_workspace_after_the_command_is_the_one_used(tmp_path):
    r = subprocess.run([sys.executable, "-m", "app", "extract", "src", "--workspace",
                        str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120,
                       env={"FACESTUDIO_ASK": "0", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 2 and "unrecognized arguments" not in r.stderr
    assert str(tmp_path / "data_src") in r.stderr          # looked for frames in that workspace
