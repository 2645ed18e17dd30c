"""A real X display for tests of the OpenCV windows: Xvfb, driven by xdotool, read back with
ImageMagick's `import`. Tests skip cleanly where these Debian tools are missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

TOOLS = ("Xvfb", "xdotool", "import")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def _free_display() -> int:
    for n in range(90, 190):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


@contextmanager
def xvfb(size: str = "1600x1000x24"):
    """Start Xvfb on a free display; yields the DISPLAY string (":N")."""
    n = _free_display()
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", size, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    display = f":{n}"
    try:
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                break
            time.sleep(0.05)
        yield display
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_app(display: str, args: list[str], window: str, actions, cwd: Path,
            timeout: float = 60) -> tuple[int, str]:
    """Run `python -m app ARGS` on `display`, wait for its window, call actions(wid), then wait
    for the app to end; (return code, output). The app is killed if it outlives `timeout`."""
    import sys
    env = {**os.environ, "DISPLAY": display}
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.Popen([sys.executable, "-m", "app", *args], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        actions(wait_window(display, window))
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out


def xdo(display: str, *args: str, timeout: float = 30) -> str:
    env = {**os.environ, "DISPLAY": display}
    r = subprocess.run(["xdotool", *args], capture_output=True, text=True, env=env,
                       timeout=timeout)
    return r.stdout.strip()


def wait_window(display: str, name: str, timeout: float = 60) -> str:
    """The X window id of the first window named `name`, waiting for it to appear."""
    end = time.time() + timeout
    while time.time() < end:
        wid = xdo(display, "search", "--name", name).splitlines()
        if wid:
            return wid[0]
        time.sleep(0.2)
    raise TimeoutError(f"no window {name!r} within {timeout} s")


def screenshot(display: str, path: Path) -> np.ndarray:
    """The whole screen as a BGR array."""
    import cv2
    env = {**os.environ, "DISPLAY": display}
    subprocess.run(["import", "-window", "root", str(path)], check=True, env=env, timeout=30)
    return cv2.imread(str(path))


def locate(screen: np.ndarray, image: np.ndarray) -> tuple[tuple[int, int], float]:
    """Top-left of `image` on the screen and the match score (normalised correlation)."""
    import cv2
    res = cv2.matchTemplate(screen, image, cv2.TM_CCOEFF_NORMED)
    _, score, _, loc = cv2.minMaxLoc(res)
    return loc, score


def find_on_screen(display: str, image: np.ndarray, workdir: Path, min_score: float = 0.7,
                   timeout: float = 10) -> tuple[int, int]:
    """Screen position of `image`'s top-left, found by its lower half (the windows draw help
    text over the top); waits until it is shown."""
    patch = image[image.shape[0] // 2:]
    end, score = time.time() + timeout, 0.0
    while time.time() < end:
        (x, y), score = locate(screenshot(display, workdir / "screen.png"), patch)
        if score >= min_score:
            return x, y - image.shape[0] // 2
        time.sleep(0.2)
    raise AssertionError(f"image not found on screen (best match {score:.2f})")
