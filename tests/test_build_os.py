"""build.py's OS-specific branches, exercised on Linux (the release workflow runs them for real
on Windows and macOS): what each OS builds, its torch, which files go into its folder, the .bat
text of each step, quoting of paths with spaces and parentheses, the smoke test and the zip."""

import hashlib
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import build  # noqa: E402
from launchers import generate as gen  # noqa: E402

STEPS = gen.load_steps()


@pytest.mark.parametrize("platform_name, os_name", [("win32", "windows"), ("darwin", "macos"),
                                                    ("linux", "linux")])
def test_host_os(platform_name, os_name):
    assert build.host_os(platform_name) == os_name


def test_each_os_builds_what_it_has():
    for os_name in ("linux", "windows"):
        for v in build.ALL_VARIANTS:
            build.check_os(v, os_name)
    build.check_os("cpu", "macos")
    for v in ("opencl-sse", "cuda-sse", "cuda-avx"):
        with pytest.raises(build.BuildError, match="not built on macos"):
            build.check_os(v, "macos")
    assert set(build.ALL_VARIANTS) == set(build.VARIANTS)


def test_main_refuses_a_variant_the_os_does_not_build(monkeypatch):
    monkeypatch.setattr(build, "host_os", lambda *a: "macos")
    monkeypatch.setattr(build, "freeze", lambda *a: pytest.fail("must stop before freezing"))
    assert build.main(["--variant", "cuda-avx"]) == 2


def test_torch_per_os():
    assert build.torch_pin("cuda-avx", "linux") == ("torch==2.14.1", "")
    pin, index = build.torch_pin("cuda-avx", "windows")   # PyPI's Windows torch is CPU-only
    assert pin == "torch==2.14.1+cu130" and index.endswith("/cu130")
    for os_name in ("linux", "windows"):
        assert build.torch_pin("cuda-sse", os_name)[0] == "torch==2.13.0+cu126"
    assert build.torch_pin("cpu", "macos") == ("torch==2.13.0", "")
    assert "torch==2.14.1+cu130" in build.variant_requirements("cuda-avx", "windows")


def test_requirements_keep_pocl_for_linux_only_and_leave_the_checks_out():
    reqs = build.variant_requirements("opencl-sse", "windows")
    pocl = [r for r in reqs if r.startswith("pocl-binary-distribution")]
    assert pocl == ['pocl-binary-distribution==3.0; sys_platform == "linux"']
    for v in build.VARIANTS:
        assert not any(r.startswith(("zizmor", "actionlint")) for r in build.variant_requirements(v))


def test_venv_python_per_os():
    venv = Path("v")
    assert build._venv_python(venv, "windows") == venv / "Scripts" / "python.exe"
    assert build._venv_python(venv, "macos") == venv / "bin" / "python"


@pytest.mark.parametrize("variant, machine, wanted", [
    ("cpu", "x86_64", True), ("opencl-sse", "AMD64", True), ("cuda-sse", "x86_64", True),
    ("cuda-avx", "x86_64", False), ("cpu", "arm64", False), ("cpu", "aarch64", False)])
def test_dlib_without_avx_only_for_non_avx_variants_on_x86(variant, machine, wanted):
    assert build.needs_sse_dlib(variant, machine) is wanted


@pytest.mark.parametrize("os_name, ext, exe", [("windows", ".bat", "facestudio.exe"),
                                               ("linux", ".sh", "facestudio"),
                                               ("macos", ".sh", "facestudio")])
def test_files_that_go_into_each_os_folder(tmp_path, os_name, ext, exe):
    build.add_payload(tmp_path, os_name)
    launchers = sorted(p.name for p in (tmp_path / "launchers").iterdir())
    assert launchers == sorted(s["name"] + ext for s in STEPS)
    assert (tmp_path / "README.md").is_file()
    assert {p.name for p in (tmp_path / "workspace").iterdir()} >= {"data_src.mp4"}
    assert build.app_executable(tmp_path, os_name) == tmp_path / "facestudio" / exe


@pytest.mark.parametrize("step", STEPS, ids=[s["name"] for s in STEPS])
def test_bat_text_of_each_step(tmp_path, step):
    gen.generate(tmp_path, (".bat",))
    text = (tmp_path / f"{step['name']}.bat").read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == "@echo off" and lines[1].startswith(f"rem {step['name']}")
    assert 'cd /d "%~dp0.." || exit /b 1' in lines   # the folder above launchers/, quoted
    assert f'"facestudio\\facestudio.exe" {step["args"]} %*' in lines
    assert f"python -m app {step['args']} %*" in lines
    assert lines[-3:] == ['if "%FACESTUDIO_NOPAUSE%"=="" pause',
                          "exit /b %FACESTUDIO_RC%", ""]
    # no parenthesised block: an expanded path with ")" (Program Files (x86), a dropped
    # "clip (1).mp4") would end it early
    code = [line for line in lines if not line.startswith("rem ")]
    assert not any("(" in line or ")" in line for line in code)
    assert code.index('set "FACESTUDIO_RC=%ERRORLEVEL%"') > code.index(":done")


def test_launcher_command_quotes_paths_with_spaces_and_parentheses():
    bat = Path(r"C:\Users\Ann Lee\Face Studio (test copy)\FaceStudio-cpu\launchers"
               r"\3.1) cut video (drop video on me).bat")
    cmd = build.launcher_command(bat, "windows", r"D:\my clips\take (1).mp4")
    line = subprocess.list2cmdline(cmd)   # what Windows' CreateProcess gets
    assert line == ('cmd.exe /d /c call "C:\\Users\\Ann Lee\\Face Studio (test copy)\\'
                    'FaceStudio-cpu\\launchers\\3.1) cut video (drop video on me).bat" '
                    '"D:\\my clips\\take (1).mp4"')
    after_c = line.split(" /c ", 1)[1]
    assert not after_c.startswith('"')   # cmd strips first/last quotes only then
    sh = build.launcher_command(Path("/x y/(a)/l.sh"), "linux", "z")
    assert sh == ["/bin/sh", "/x y/(a)/l.sh", "z"]


def test_bare_env_has_no_python(tmp_path, monkeypatch):
    monkeypatch.setenv("SYSTEMROOT", r"C:\Windows")
    win = build.bare_env("windows", tmp_path)
    assert win["PATH"] == os.pathsep.join([r"C:\Windows\System32", r"C:\Windows"])
    assert win["FACESTUDIO_NOPAUSE"] == "1" and win["FACESTUDIO_ASK"] == "0"
    posix = build.bare_env("linux", tmp_path)
    assert posix["PATH"] == str(tmp_path / "bin")
    assert [p.name for p in (tmp_path / "bin").iterdir()] == ["dirname"]


def _fake_folder(root: Path, os_name: str) -> Path:
    folder = root / "FaceStudio-cpu"
    folder.mkdir()
    build.add_payload(folder, os_name)
    exe = build.app_executable(folder, os_name)
    exe.parent.mkdir()
    exe.write_text("")
    return folder


class FakeRun:
    """Stands in for subprocess.run: records commands, does what the launchers would write."""

    def __init__(self, fail: str = ""):
        self.cmds, self.fail = [], fail

    def __call__(self, cmd, **kw):
        self.cmds.append(cmd)
        launcher = next((c for c in cmd if c.endswith((".sh", ".bat"))), cmd[0])
        folder = Path(launcher).parent.parent
        joined = " ".join(cmd)
        if "extract images" in joined:
            (folder / "workspace" / "data_src").mkdir(exist_ok=True)
            for i in range(150):
                (folder / "workspace" / "data_src" / f"{i:05d}.png").write_bytes(b"")
        if "demo" in joined:
            (folder / "workspace" / "result.mp4").write_bytes(b"\0" * 20_000)
        out = "extract train\ntorch engine would use: CPU"
        return subprocess.CompletedProcess(cmd, 1 if self.fail and self.fail in joined else 0,
                                           out, "")


@pytest.mark.parametrize("os_name", ["windows", "linux"])
def test_smoke_test_runs_the_copy_through_its_launchers(tmp_path, os_name):
    folder = _fake_folder(tmp_path, os_name)
    run = FakeRun()
    assert build.smoke_test(folder, "cpu", os_name, demo_minutes=1.5, run=run) == []
    assert len(run.cmds) == 4
    assert run.cmds[0][1:] == ["--help"]
    for cmd in run.cmds:
        assert f"{build.SMOKE_COPY}" in " ".join(cmd)   # a space and parentheses in the path
    if os_name == "windows":
        assert run.cmds[1][:4] == ["cmd.exe", "/d", "/c", "call"]
        assert run.cmds[1][4].endswith("devices - list GPUs and OpenCL devices.bat")
        assert run.cmds[0][0].endswith("facestudio.exe")
    else:
        assert run.cmds[1][0] == "/bin/sh" and run.cmds[1][1].endswith(".sh")
    assert run.cmds[3][-2:] == ["--minutes", "1.5"]
    assert not (folder / "workspace" / "result.mp4").exists()   # the original is untouched


def test_smoke_test_reports_failures(tmp_path):
    folder = _fake_folder(tmp_path, "linux")
    failures = build.smoke_test(folder, "cpu", "linux", run=FakeRun(fail="devices"))
    assert failures == ["devices - list GPUs and OpenCL devices: exit code 1, no 'torch engine "
                        "would use:' in its output"]
    cuda = build.smoke_test(folder, "cuda-avx", "linux", run=FakeRun())
    assert cuda == []   # no demo for the GPU-only variant
    no_frames = build.smoke_test(folder, "cuda-avx", "linux",
                                 run=lambda cmd, **kw: subprocess.CompletedProcess(
                                     cmd, 0, "extract torch engine would use:", ""))
    assert no_frames == ["frame extraction wrote 0 frames (the sample has 150)"]


def test_zip_keeps_links_and_names_and_reports_size_and_sha(tmp_path):
    folder = tmp_path / "FaceStudio-cpu"
    (folder / "launchers").mkdir(parents=True)
    (folder / "launchers" / "3.1) cut video (drop video on me).bat").write_text("x")
    (folder / "lib.so.1").write_bytes(b"\x7fELF" * 100)
    (folder / "lib.so").symlink_to("lib.so.1")
    zip_path = tmp_path / "FaceStudio-cpu-linux.zip"
    size, sha = build.make_zip(folder, zip_path)
    assert size == zip_path.stat().st_size
    assert sha == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        assert "FaceStudio-cpu/launchers/3.1) cut video (drop video on me).bat" in names
        link = z.getinfo("FaceStudio-cpu/lib.so")
        assert stat.S_ISLNK(link.external_attr >> 16) and z.read(link) == b"lib.so.1"
    line = build.release_note_line(zip_path, size, sha)
    assert line == f"| `FaceStudio-cpu-linux.zip` | {size / 2**20:.1f} MiB | `{sha}` |"
    assert build.archive_path("cpu", "windows").name == "FaceStudio-cpu-windows.zip"


def test_zip_and_smoke_test_of_an_unbuilt_folder_stop(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "BUILDS", tmp_path)
    assert build.main(["--variant", "cpu", "--zip"]) == 2
    exe = build.app_executable(tmp_path / "cpu" / "FaceStudio-cpu", build.host_os())
    exe.parent.mkdir(parents=True)
    exe.write_text("")
    monkeypatch.setattr(build, "smoke_test", lambda *a, **k: ["devices: exit code 1"])
    assert build.main(["--variant", "cpu", "--smoke-test", "--zip"]) == 1
    assert not (tmp_path / "cpu" / "FaceStudio-cpu-linux.zip").exists()
    monkeypatch.setattr(build, "smoke_test", lambda *a, **k: [])
    assert build.main(["--variant", "cpu", "--smoke-test", "--zip"]) == 0
    assert (tmp_path / "cpu" / f"FaceStudio-cpu-{build.host_os()}.zip").is_file()
    notes = (tmp_path / "cpu" / f"FaceStudio-cpu-{build.host_os()}.notes.md").read_text()
    assert notes.startswith(f"| `FaceStudio-cpu-{build.host_os()}.zip` | ") and "MiB" in notes


def test_merge_runtimes_per_variant_and_os():
    """Every folder can export and merge on ONNX Runtime; the OpenCL folder (AMD/Intel GPUs)
    also carries OpenVINO, and on Windows ONNX Runtime's DirectML build (any DirectX 12 GPU)."""
    for os_name in ("linux", "windows", "macos"):
        for v in build.OS_VARIANTS[os_name]:
            reqs = build.variant_requirements(v, os_name)
            names = [r.split("==")[0] for r in reqs]
            assert "onnx" in names, (v, os_name)
            assert ("openvino" in names) == (v == "opencl-sse"), (v, os_name)
            dml = os_name == "windows" and v == "opencl-sse"
            assert ("onnxruntime-directml" in names) == dml, (v, os_name)
            assert ("onnxruntime" in names) != dml, (v, os_name)   # one ONNX Runtime per install


def test_specs_collect_the_runtimes_their_requirements_carry():
    import re
    for v in build.VARIANTS:
        text = (REPO / "bundle_specs" / f"{v}.spec").read_text()
        engines = re.search(r"engines=\(([^)]*)\)", text).group(1)
        assert '"onnx"' in engines, v
        assert ('"openvino"' in engines) == (v == "opencl-sse"), v
        assert ('"opencl"' in engines) == build.VARIANTS[v].opencl, v
