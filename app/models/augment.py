"""How training samples are augmented: a model declares its own (`FaceModel.sample_settings`),
the trainer's sample maker (app.train.samples) applies them. Here, in the models layer, because
the models name it and training is above them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AugmentOptions:
    """DeepFaceLab's SampleProcessor defaults: rotation +-10 deg, scale +-5 %, shift +-5 %,
    40 % of faces flipped when `random_flip`; `scale_shift` is the src face scale modifier.
    `random_warp` off: the network input is only transformed, not grid-warped (SAEHD's option);
    `hsv_power` > 0: the network input's hue, saturation and value are shifted at random by up
    to that share (SAEHD's random_hsv_power, applied to src only)."""

    rotation: float = 10.0
    scale: float = 0.05
    shift: float = 0.05
    random_flip: bool = True
    scale_shift: float = 0.0
    random_warp: bool = True
    hsv_power: float = 0.0
