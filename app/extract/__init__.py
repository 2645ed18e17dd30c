"""Detect, landmark and align faces (steps 4 and 5).

A face detector is one module `detector_<name>.py` in this folder that declares
`DETECTOR = {"name": ..., "order": ..., "help": ..., "class": ...}`; `detector_names()` lists
them without importing any (the CLI builds its choices from it at start-up).
"""

from __future__ import annotations


def detector_entries():
    """The discovered detectors, in their declared order (app.registry.Entry)."""
    from app.registry import discover
    return discover(__name__, "DETECTOR", prefix="detector_")


def detector_names() -> tuple[str, ...]:
    """Every detector's name (fast, accurate, plus any new detector file)."""
    return tuple(e.name for e in detector_entries())
