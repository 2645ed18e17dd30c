"""The weights merge uses: an exponential moving average (EMA) of the weights training visits.

Why: at the learning rates a short run needs (the demo's 3e-4, six times DeepFaceLab's), Adam's
weights jump about from step to step, and so does what the model draws. On GRID f1 onto m1 (the
demo's recipe, one run, scored every 100 iterations from 4,400 to 4,800) the swapped head's yaw
error against dst went 7.0 / 9.7 / 3.8 / 7.8 / 6.1 degrees with the training weights and
6.5 / 6.5 / 6.0 / 5.6 / 6.8 with their average over about the last 100 steps (decay 0.99);
sharpness and mouth movement were the same or a little better (bench/RESULTS.md). The result
then depends much less on the moment training stopped. DeepFaceLab has no such option; image
generators commonly sample from such an average.

The average is kept on the host in numpy, so it works the same on every engine, and updated
every `EVERY` steps with the decay raised to that power (the same average of a thinned set of
steps, at a quarter of the memory traffic). Early on the decay is lowered to
(1 + i) / (10 + i) at iteration i, so an average started at iteration 0 does not stay near
the random start. It is saved in the weights file beside the weights (`ema/<name>`), so resume
is exact, and the merge's predictor loads it in place of the training weights.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

#: key prefix of the averaged weights in a model's weights file
PREFIX = "ema/"
#: steps between two updates of the average
EVERY = 4


class WeightAverage:
    """The running average of a model's weights (`shadow`, by parameter name)."""

    def __init__(self, decay: float, shadow: dict[str, np.ndarray]):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be between 0 and 1, not {decay}")
        self.decay = float(decay)
        self.shadow = {k: np.array(v, np.float32, copy=True) for k, v in shadow.items()}

    @classmethod
    def resume(cls, decay: float, saved: dict[str, np.ndarray] | None,
               current: dict[str, np.ndarray]) -> "WeightAverage":
        """The saved average, each weight it lacks (or holds in another shape: a part that
        started fresh) started at the current weights; all of them when there is none (the
        average just switched on)."""
        saved = saved or {}
        return cls(decay, {k: saved[k] if k in saved and saved[k].shape == w.shape else w
                           for k, w in current.items()})

    def update(self, iteration: int, weights: Callable[[], dict[str, np.ndarray]]) -> bool:
        """Fold the weights after step `iteration` into the average (every EVERY steps; the
        weights are only read then). True when it updated."""
        if iteration % EVERY:
            return False
        rate = 1.0 - min(self.decay, (1.0 + iteration) / (10.0 + iteration)) ** EVERY
        for name, w in weights().items():
            avg = self.shadow[name]
            avg += (np.asarray(w, np.float32) - avg) * np.float32(rate)
        return True

    def state(self) -> dict[str, np.ndarray]:
        """The average as weights-file entries."""
        return {PREFIX + k: v for k, v in self.shadow.items()}


def averaged(state: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """The averaged weights a weights file's entries hold (None: it has none)."""
    out = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    return out or None
