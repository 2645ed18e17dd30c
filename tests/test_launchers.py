"""Launchers are generated from one table and every one of them names a real command."""

import shlex

import pytest

from app.cli.main import build_parser
from launchers import generate as gen


def test_committed_launchers_match_the_table(tmp_path):
    written = gen.generate(tmp_path)
    assert len(written) == 2 * len(gen.load_steps())
    for path in written:
        committed = gen.HERE / path.name
        assert committed.exists(), f"{path.name} missing: run python launchers/generate.py"
        assert committed.read_bytes() == path.read_bytes(), f"{path.name} is stale"


def test_bat_files_use_crlf_and_sh_files_are_executable():
    for step in gen.load_steps():
        bat = (gen.HERE / f"{step['name']}.bat").read_bytes()
        assert b"\r\n" in bat and b"\n" not in bat.replace(b"\r\n", b"")
        assert (gen.HERE / f"{step['name']}.sh").stat().st_mode & 0o111


@pytest.mark.parametrize("step", gen.load_steps(), ids=lambda s: s["name"])
def test_every_launcher_parses_as_a_cli_command(step):
    parser = build_parser()
    argv = shlex.split(step["args"])
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # a step that takes a file dropped on it
        args = parser.parse_args(argv + ["dropped.mp4"])
    assert callable(args.run)
