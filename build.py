"""Build a portable folder: `python build.py --variant cpu|opencl-sse|cuda-sse|cuda-avx`.

The folder (builds/<variant>/FaceStudio-<variant>/) holds the frozen app (PyInstaller, onedir),
ffmpeg and dlib's face models inside it, the default workspace with the sample videos, the README,
and the numbered step launchers (.bat and .sh) generated from launchers/steps.toml. Unzip it
anywhere and double-click a launcher: no Python, no network. PyInstaller does not cross-compile,
so each OS builds its own.

By default the build uses this interpreter's packages (the spec keeps out the engines a variant
does not ship); `--venv` installs the variant's own pins into builds/.venv-<variant> first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent
BUILDS = REPO / "builds"
PYINSTALLER = "pyinstaller==6.22.3"


@dataclass(frozen=True)
class Variant:
    targets: str          # who it is for (README "Portable builds")
    torch: str            # the torch pin of this variant
    opencl: bool          # ships tinygrad + pyopencl + PoCL
    cpu_baseline: str     # the oldest CPU it runs on
    index_url: str = ""   # extra wheel index for the torch pin, if any


VARIANTS = {
    "cpu": Variant("any 64-bit PC without a usable GPU", "torch==2.13.0", False,
                   "x86-64 with SSE4.2 (torch and numpy pick AVX kernels at run time when present)"),
    "opencl-sse": Variant("AMD and Intel HD/UHD/Arc GPUs, old NVIDIA cards: any OpenCL 1.2 device; "
                          "torch CPU as fallback", "torch==2.13.0", True, "x86-64 with SSE4.2"),
    "cuda-sse": Variant("NVIDIA GTX 900/1000 (Maxwell, Pascal) on older CPUs without AVX",
                        "torch==2.13.0+cu126", False, "x86-64 with SSE4.2",
                        "https://download.pytorch.org/whl/cu126"),
    "cuda-avx": Variant("NVIDIA RTX 20/30/40/50 (Turing and newer) on AVX2 CPUs",
                        "torch==2.14.1", False, "x86-64-v3 (AVX2)"),
}

OPENCL_PINS = ("tinygrad", "pyopencl", "pocl-binary-distribution")
TEST_PINS = ("pytest", "hypothesis")


def variant_requirements(name: str) -> list[str]:
    """requirements.txt with this variant's torch pin, without what it does not ship."""
    v = VARIANTS[name]
    out = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        pkg = line.split("==")[0].strip()
        if not line.strip() or line.lstrip().startswith("#") or pkg in TEST_PINS:
            continue
        if pkg in OPENCL_PINS and not v.opencl:
            continue
        out.append(v.torch if pkg == "torch" else line.strip())
    return out + [PYINSTALLER]


def make_venv(name: str) -> Path:
    venv = BUILDS / f".venv-{name}"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    reqs = variant_requirements(name)
    extra = ["--extra-index-url", VARIANTS[name].index_url] if VARIANTS[name].index_url else []
    subprocess.run([str(python), "-m", "pip", "install", *extra, *reqs], check=True)
    return python


def freeze(name: str, python: Path, out: Path) -> Path:
    work = BUILDS / name / "work"
    dist = BUILDS / name / "dist"
    subprocess.run([str(python), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(work),
                    str(REPO / "bundle_specs" / f"{name}.spec")], check=True, cwd=REPO)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.move(str(dist / "facestudio"), str(out / "facestudio"))
    return out


def add_payload(out: Path) -> None:
    """Workspace with the sample videos, README, launchers."""
    sys.path.insert(0, str(REPO))
    from launchers.generate import generate

    ws = out / "workspace"
    ws.mkdir()
    for f in (REPO / "workspace").iterdir():
        if f.is_file():
            shutil.copy2(f, ws / f.name)
    shutil.copy2(REPO / "README.md", out / "README.md")
    generate(out / "launchers")


def size_report(out: Path) -> str:
    def du(p: Path) -> int:
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() \
            else p.stat().st_size
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
    parser.add_argument("--print-requirements", action="store_true",
                        help="print the variant's pins and stop")
    args = parser.parse_args(argv)
    if args.print_requirements:
        print("\n".join(variant_requirements(args.variant)))
        return 0
    python = make_venv(args.variant) if args.venv else Path(sys.executable)
    out = BUILDS / args.variant / f"FaceStudio-{args.variant}"
    freeze(args.variant, python, out)
    add_payload(out)
    print(size_report(out))
    print(f"portable folder: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
