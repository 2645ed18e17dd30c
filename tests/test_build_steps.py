"""build.py's build steps with the slow parts (pip, PyInstaller, the dlib compile) replaced by a
recorder: which commands each branch runs, with which pins and environment, and what it refuses.
The real builds run in tests/test_portable_build.py (slow)."""

import io
import subprocess
import sys
import urllib.error
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import build  # noqa: E402

TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"


class Recorder:
    """Stands in for subprocess.run: records each command and plays a side effect."""

    def __init__(self, effects=None):
        self.calls: list[tuple[list[str], dict]] = []
        self.effects = effects or []

    def __call__(self, cmd, **kw):
        self.calls.append(([str(c) for c in cmd], kw))
        for match, effect in self.effects:
            if match in " ".join(map(str, cmd)):
                effect(cmd, kw)
        return subprocess.CompletedProcess(cmd, 0, stdout=f"{TAG}\n", stderr="")


@pytest.fixture
def builds(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(build, "BUILDS", tmp_path / "builds")
    return tmp_path / "builds"


def test_make_venv_installs_the_variants_pins_from_its_index(builds, monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(build.subprocess, "run", rec)
    monkeypatch.setattr(build, "check_torch_source", lambda *a: None)
    python = build.make_venv("cuda-sse")
    venv_cmd, pip_cmd = rec.calls[0][0], rec.calls[1][0]
    assert venv_cmd[1:3] == ["-m", "venv"] and venv_cmd[3] == str(builds / ".venv-cuda-sse")
    assert pip_cmd[0] == str(python) and pip_cmd[1:4] == ["-m", "pip", "install"]
    assert "--extra-index-url" in pip_cmd and pip_cmd[pip_cmd.index("--extra-index-url") + 1] \
        .endswith("/cu126")
    assert "torch==2.13.0+cu126" in pip_cmd and not any(a.startswith("pytest") for a in pip_cmd)


def test_make_venv_with_find_links_uses_no_index_url(builds, monkeypatch, tmp_path):
    rec = Recorder()
    monkeypatch.setattr(build.subprocess, "run", rec)
    monkeypatch.setattr(build, "check_torch_source", lambda *a: None)
    build.make_venv("cuda-sse", tmp_path)
    pip_cmd = rec.calls[-1][0]
    assert pip_cmd[pip_cmd.index("--find-links") + 1] == str(tmp_path)
    assert "--extra-index-url" not in pip_cmd


def _page(text: str):
    class Page(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False
    return lambda url, timeout: Page(text.encode())


def test_torch_source_online_index_checks(monkeypatch):
    want = f"torch-2.13.0%2Bcu126-{TAG}-{TAG}-linux_x86_64.whl"
    monkeypatch.setattr(build.urllib.request, "urlopen", _page(f'<a href="x">{want}</a>'))
    build.check_torch_source("cuda-sse", None)   # listed: fine
    monkeypatch.setattr(build.urllib.request, "urlopen", _page("<a>torch-2.13.0+cu126-cp38</a>"))
    with pytest.raises(build.BuildError, match="lists no torch-2.13.0"):
        build.check_torch_source("cuda-sse", None)

    def unreachable(url, timeout):
        raise urllib.error.URLError("no route")
    monkeypatch.setattr(build.urllib.request, "urlopen", unreachable)
    with pytest.raises(build.BuildError, match="--find-links DIR_WITH_THE_WHEEL"):
        build.check_torch_source("cuda-sse", None)
    build.check_torch_source("cpu", None)   # PyPI's own pin: nothing to look up


def test_interpreter_without_pyinstaller_is_refused(monkeypatch):
    from importlib import metadata

    real = metadata.version

    def version(dist):
        if dist == "pyinstaller":
            raise metadata.PackageNotFoundError(dist)
        return real(dist)
    monkeypatch.setattr(build.metadata, "version", version)
    with pytest.raises(build.BuildError, match="PyInstaller is not installed"):
        build.check_interpreter("cpu", Path(sys.executable))
    build.check_interpreter("cpu", Path("/elsewhere/python"))   # a venv's python: not checked


def _fake_dlib_wheel(folder: Path, version: str = "20.0.1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"dlib-{version}-{TAG}-{TAG}-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("dlib/__init__.py", "")
        z.writestr("_dlib_pybind11.so", b"noavx")
    return wheel


def test_sse_dlib_unpacks_a_cached_wheel_then_reuses_it(builds, monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(build.subprocess, "run", rec)
    _fake_dlib_wheel(builds / "wheels")
    got = build.sse_dlib(Path(sys.executable))
    assert (got / "dlib").is_dir() and (got / "_dlib_pybind11.so").read_bytes() == b"noavx"
    assert all("pip" not in " ".join(c) for c, _ in rec.calls)   # no compile: the wheel was there
    assert build.sse_dlib(Path(sys.executable)) == got


def test_dlib_is_compiled_without_avx_when_no_wheel_is_cached(builds, monkeypatch):
    import tarfile

    def download(cmd, kw):   # pip download: an sdist with a setup.py
        dest = Path(cmd[cmd.index("-d") + 1])
        tree = dest / "dlib-20.0.1"
        tree.mkdir(parents=True)
        (tree / "setup.py").write_text("")
        with tarfile.open(dest / "dlib-20.0.1.tar.gz", "w:gz") as t:
            t.add(tree, arcname="dlib-20.0.1")

    def compile_(cmd, kw):   # the no-AVX setup.py run: leaves the wheel
        _fake_dlib_wheel(Path(cmd[-1]))
    rec = Recorder([("pip download", download), ("USE_AVX_INSTRUCTIONS=OFF", compile_)])
    monkeypatch.setattr(build.subprocess, "run", rec)
    got = build.sse_dlib(Path(sys.executable))
    joined = [" ".join(c) for c, _ in rec.calls]
    assert any("--no-binary :all:" in c and build.DLIB_SOURCE in c for c in joined)
    compile_call = next(c for c in rec.calls if "USE_AVX_INSTRUCTIONS=OFF" in " ".join(c[0]))
    assert compile_call[1]["cwd"].name == "dlib-20.0.1"
    assert (got / "dlib").is_dir()


def test_a_frozen_app_with_another_dlib_is_refused(tmp_path):
    want, frozen = tmp_path / "want", tmp_path / "frozen"
    (want).mkdir()
    (frozen / "_internal").mkdir(parents=True)
    (want / "_dlib_pybind11.so").write_bytes(b"noavx")
    (frozen / "_internal" / "_dlib_pybind11.so").write_bytes(b"avx")
    with pytest.raises(build.BuildError, match="would need AVX"):
        build._check_same_dlib(want, frozen)
    (frozen / "_internal" / "_dlib_pybind11.so").write_bytes(b"noavx")
    build._check_same_dlib(want, frozen)


@pytest.mark.parametrize("variant,sse", [("cpu", True), ("cuda-avx", False)])
def test_freeze_runs_the_variants_spec_and_moves_the_app(builds, monkeypatch, variant, sse):
    def pyinstaller(cmd, kw):
        app = Path(cmd[cmd.index("--distpath") + 1]) / "facestudio"
        app.mkdir(parents=True)
        (app / "facestudio").write_text("")
        if kw["env"].get("FACESTUDIO_BUNDLE_PATH"):
            (app / "_dlib_pybind11.so").write_bytes(b"noavx")
    rec = Recorder([("PyInstaller", pyinstaller)])
    monkeypatch.setattr(build.subprocess, "run", rec)
    monkeypatch.setattr(build, "needs_sse_dlib", lambda name, machine=None: sse)
    dlib_dir = builds / "noavx"
    dlib_dir.mkdir(parents=True)
    (dlib_dir / "_dlib_pybind11.so").write_bytes(b"noavx")
    monkeypatch.setattr(build, "sse_dlib", lambda python: dlib_dir)
    out = builds / variant / f"FaceStudio-{variant}"
    out.mkdir(parents=True)
    (out / "stale.txt").write_text("from the last build")
    build.freeze(variant, Path(sys.executable), out)
    cmd, kw = rec.calls[0]
    assert cmd[-1].endswith(f"bundle_specs/{variant}.spec") or cmd[-1].endswith(
        f"bundle_specs\\{variant}.spec")
    assert ("FACESTUDIO_BUNDLE_PATH" in kw["env"]) == sse
    assert (out / "facestudio" / "facestudio").is_file() and not (out / "stale.txt").exists()


def test_main_builds_adds_the_payload_and_reports_the_size(builds, monkeypatch, capsys):
    def freeze(name, python, out):
        (out / "facestudio" / "_internal").mkdir(parents=True)
        (out / "facestudio" / "_internal" / "lib.so").write_bytes(b"x" * 4096)
        return out
    monkeypatch.setattr(build, "check_interpreter", lambda *a: None)
    monkeypatch.setattr(build, "freeze", freeze)
    assert build.main(["--variant", "cpu"]) == 0
    out = builds / "cpu" / "FaceStudio-cpu"
    assert (out / "README.md").is_file() and (out / "workspace" / "data_src.mp4").is_file()
    assert list((out / "launchers").glob("*.sh"))
    assert "facestudio/_internal/lib.so" in (builds / "cpu" / "SIZE.txt").read_text()
    assert f"portable folder: {out}" in capsys.readouterr().out


def test_main_stops_on_a_build_error_from_freeze(builds, monkeypatch, capsys):
    monkeypatch.setattr(build, "check_interpreter", lambda *a: None)

    def freeze(*a):
        raise build.BuildError("the frozen app did not take dlib")
    monkeypatch.setattr(build, "freeze", freeze)
    assert build.main(["--variant", "cpu"]) == 2
    assert "build.py: the frozen app did not take dlib" in capsys.readouterr().err


def test_print_requirements(capsys):
    assert build.main(["--variant", "opencl-sse", "--print-requirements"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == build.variant_requirements("opencl-sse")


def test_release_steps_smoke_failure_and_zip_notes(builds, monkeypatch, capsys):
    out = builds / "cpu" / "FaceStudio-cpu"
    build.app_executable(out, build.host_os()).parent.mkdir(parents=True)
    build.app_executable(out, build.host_os()).write_text("")
    monkeypatch.setattr(build, "smoke_test", lambda *a, **k: ["--help: exit code 1"])
    assert build.main(["--variant", "cpu", "--smoke-test", "--zip"]) == 1
    assert "smoke test failed: --help: exit code 1" in capsys.readouterr().err
    assert not build.archive_path("cpu", build.host_os()).exists()   # no zip of a broken folder
    monkeypatch.setattr(build, "smoke_test", lambda *a, **k: [])
    assert build.main(["--variant", "cpu", "--smoke-test", "--zip"]) == 0
    notes = build.archive_path("cpu", build.host_os()).with_suffix(".notes.md").read_text()
    assert notes.startswith(f"| `FaceStudio-cpu-{build.host_os()}.zip` |") and "MiB" in notes
