"""A progress bar over training steps (the mask network, the upscaler), shared by the steps."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def step_bar(steps: int, desc: str) -> Iterator[Callable[[int, float], None]]:
    """A progress bar over training steps; yields the `progress(step, loss)` callback."""
    from tqdm import tqdm

    bar = tqdm(total=steps, desc=desc, unit="step")

    def tick(step: int, loss: float) -> None:
        bar.update(step - bar.n)  # a resumed run starts past 0
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss:.4f}")

    try:
        yield tick
    finally:
        bar.close()
