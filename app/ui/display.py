"""Whether an OpenCV window can open here, and opening one with a clear message where it cannot.

OpenCV's Qt backend aborts the whole process (SIGABRT, no exception) on Linux without X11 or
Wayland, so this must be decided before the first window, from the environment.
"""

from __future__ import annotations

import os
import sys

from app.errors import UserError


def display_available() -> bool:
    """False where opening a window would abort the process (Linux without X11/Wayland), or
    where FACESTUDIO_NO_WINDOW=1 asks for no windows."""
    if os.environ.get("FACESTUDIO_NO_WINDOW") == "1":
        return False
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


def open_window(name: str, no_display: str, toolbar: bool = False) -> None:
    """Create the window `name`, or raise UserError(`no_display`) where none can open.

    Without `toolbar` the window is OpenCV's plain one: Qt's toolbar window takes the right
    mouse button for its own menu and adds a status bar under the image."""
    import cv2

    if not display_available():
        raise UserError(no_display)
    flags = cv2.WINDOW_AUTOSIZE | (0 if toolbar else cv2.WINDOW_GUI_NORMAL)
    try:
        cv2.namedWindow(name, flags)
    except cv2.error:
        raise UserError(no_display) from None
