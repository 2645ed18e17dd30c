"""Where the training preview goes: an OpenCV window when a display exists, else a PNG file.

Keys in the window (DeepFaceLab's): Enter saves and exits, `s` saves, `p` refreshes the preview.
Without a display the same image is written to `model/<NAME>_preview.png` and Ctrl+C saves and
exits. FACESTUDIO_NO_WINDOW=1 forces the file even where a display exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.fileio import atomic_write_bytes
from app.ui.display import display_problem
from app.ui.preview import encode_png

KEYS = {13: "exit", 10: "exit", ord("s"): "save", ord("p"): "refresh"}


class PreviewSink:
    """Shows or writes the preview; `poll()` returns "exit", "save", "refresh" or None.

    `window=None` opens a window only where one can (app.ui.display: OpenCV's Qt aborts the
    process without a display, so an explicit `window=True` there falls back to the file too).
    The window is DeepFaceLab's: the image at 1:1, no Qt toolbar."""

    def __init__(self, title: str, png_path: Path, window: bool | None = None):
        self.title, self.png_path = title, Path(png_path)
        problem = display_problem() if window is not False else ""
        self.window = window is not False and not problem
        if problem and (window or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            print(f"note: no preview window ({problem}); the preview is written to "
                  f"{self.png_path}")
        if self.window:
            try:
                import cv2
                cv2.namedWindow(self.title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
            except Exception:     # headless OpenCV build or no usable display
                self.window = False

    def show(self, img: np.ndarray) -> None:
        if self.window:
            import cv2
            cv2.imshow(self.title, img)
            cv2.waitKey(1)
        else:
            atomic_write_bytes(self.png_path, encode_png(img))

    def poll(self) -> str | None:
        if not self.window:
            return None
        import cv2
        return KEYS.get(cv2.waitKey(1) & 0xFF)

    def close(self) -> None:
        if self.window:
            import cv2
            cv2.destroyWindow(self.title)
