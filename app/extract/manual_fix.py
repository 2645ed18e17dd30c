"""Helpers of the manual modes that need no window: which frames to redo, precise landmarks.

"manual fix deleted aligned_debug" (DeepFaceLab's step 5 option): the user looks through
data_dst/aligned_debug, deletes the images whose landmarks are wrong, and exactly those frames
are re-extracted by hand; their old aligned faces are removed first.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.extract.detectors import Box, Landmarker
from app.frame_files import list_frames
from app.extract.pipeline import debug_name


def frames_with_deleted_debug(frames_dir: Path, aligned_dir: Path, debug_dir: Path) -> list[str]:
    """Names of dst frames whose aligned_debug image is gone (the user's way to flag them)."""
    debug_dir = Path(debug_dir)
    if not debug_dir.is_dir() or not any(debug_dir.iterdir()):
        raise UserError("no aligned_debug folder: run `python -m app extract dst` first, then "
                        "delete the debug images of the frames to redo", debug_dir)
    frames = list_frames(Path(frames_dir))
    present = {p.name for p in debug_dir.iterdir()}
    return [f.name for f in frames if debug_name(f) not in present]


def remove_faces(aligned_dir: Path, frame_name: str) -> int:
    """Delete every aligned face of one frame (`<stem>_<i>.jpg`); returns how many."""
    stem = Path(frame_name).stem
    n = 0
    for path in Path(aligned_dir).glob(glob.escape(stem) + "_*.jpg"):
        if path.stem[len(stem) + 1:].isdigit():
            path.unlink()
            n += 1
    return n


def fit_precise(landmarker: Landmarker, gray: np.ndarray, box: Box, precise: bool) -> np.ndarray:
    """Landmarks in `box`; precision mode averages fits on 9 slightly shifted/scaled boxes.

    The shape predictor depends on where the box sits; averaging over small box changes removes
    that dependence (steadier, more accurate landmarks) at 9 times the cost.
    """
    if not precise:
        return landmarker.fit(gray, box)
    w = box.right - box.left
    fits = []
    for dx, dy, s in [(0, 0, 1), (-.04, 0, 1), (.04, 0, 1), (0, -.04, 1), (0, .04, 1),
                      (0, 0, .94), (0, 0, 1.06), (.03, .03, .97), (-.03, -.03, 1.03)]:
        cx = (box.left + box.right) / 2 + dx * w
        cy = (box.top + box.bottom) / 2 + dy * w
        half = w * s / 2
        fits.append(landmarker.fit(gray, Box(cx - half, cy - half, cx + half, cy + half)))
    return np.mean(fits, axis=0)
