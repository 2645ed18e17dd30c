"""Whether an OpenCV window can open here, and opening one with a clear message where it cannot.

OpenCV's Qt backend aborts the whole process (SIGABRT, no exception) on Linux without X11 or
Wayland, so this must be decided before the first window, from the environment.
"""

from __future__ import annotations

import functools
import os
import socket
import sys

from app.errors import UserError


def display_available() -> bool:
    """False where opening a window would abort the process (Linux without a reachable X11 or
    Wayland server), or where FACESTUDIO_NO_WINDOW=1 asks for no windows."""
    return not display_problem()


def display_problem() -> str:
    """Why no window can open here ("" when one can). A DISPLAY that is set but cannot be
    reached (an ssh session's forwarding gone, a stopped Xvfb) is probed by connecting to its
    socket: Qt would abort on it."""
    if os.environ.get("FACESTUDIO_NO_WINDOW") == "1":
        return "FACESTUDIO_NO_WINDOW=1"
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return ""
    display, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if display and _x11_reachable(display):
        return ""
    if wayland and _wayland_reachable(wayland):
        return ""
    if display or wayland:
        return f"the display {display or wayland} cannot be reached"
    return "no DISPLAY or WAYLAND_DISPLAY is set"


@functools.lru_cache(maxsize=8)
def _x11_reachable(display: str) -> bool:
    """Connect to the X server of `display` (`:0`, `unix:0.0`, `host:10`), as Xlib would."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        return _connects(socket.AF_UNIX, "\0" + path) or _connects(socket.AF_UNIX, path)
    return _connects(socket.AF_INET, (host, 6000 + int(number)))


def _wayland_reachable(name: str) -> bool:
    path = name if name.startswith("/") else \
        os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""), name)
    return _connects(socket.AF_UNIX, path)


def _connects(family: int, address: object) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            s.connect(address)
        return True
    except OSError:
        return False


def open_window(name: str, no_display: str, toolbar: bool = False) -> None:
    """Create the window `name`, or raise UserError(`no_display`) where none can open.

    Without `toolbar` the window is OpenCV's plain one: Qt's toolbar window takes the right
    mouse button for its own menu and adds a status bar under the image."""
    import cv2

    problem = display_problem()
    if problem:
        raise UserError(f"{no_display} ({problem})")
    flags = cv2.WINDOW_AUTOSIZE | (0 if toolbar else cv2.WINDOW_GUI_NORMAL)
    try:
        cv2.namedWindow(name, flags)
    except cv2.error:
        raise UserError(no_display) from None
