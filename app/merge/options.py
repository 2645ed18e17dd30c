"""Every merge setting in one dataclass, so the algorithms never ask anything.

Names and ranges follow DeepFaceLab 1.0's converter questions; the CLI asks them and builds a
`MergeOptions`, tests and scripts build one directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from app.errors import UserError

RAW_MODES = ("rgb", "rgb-mask", "mask-only", "predicted-only")
MASK_MODES = ("learned", "dst", "FAN-prd", "FAN-dst", "FAN-prd*FAN-dst",
              "learned*FAN-prd*FAN-dst")
#: mask modes that need the obstruction-aware mask network (app.masknet)
FAN_MASK_MODES = MASK_MODES[2:]


@dataclass
class MergeOptions:
    """One merge run's settings (DeepFaceLab's converter options plus the engine's).

    Ranges: erode -200..200 (negative dilates), blur 0..200 (DeepFaceLab 1.0 blurred only for
    positive values, so the range stops at 0), output_face_scale -50..50 (%),
    hist_match_threshold 0..255, color_degrade_power 0..100. `clip_hborder_mask_per`: the
    fraction of the face's width cut softly off the mask's left, right and bottom edges before
    the blur (DeepFaceLab's SAE full face: 0.0625); None takes the model's default
    (`FaceModel.merge_defaults`) when the merge starts.
    """

    mode: str = "seamless"
    raw_mode: str = "rgb-mask"
    suppress_seamless_jitter: bool = False
    seamless_hist_match: bool = False
    masked_hist_match: bool = True
    hist_match_threshold: int = 255
    mask_mode: str = "learned"
    erode_mask_modifier: int = 0
    blur_mask_modifier: int = 0
    clip_hborder_mask_per: float | None = None
    output_face_scale: int = 0
    color_transfer: str = "none"
    super_resolution: bool = False
    color_degrade_power: int = 0
    export_alpha: bool = False
    debug: bool = False

    def validate(self) -> "MergeOptions":
        """Raise UserError for a value out of range or a mode that cannot run here."""
        from app.merge.color import transfer_names
        from app.merge.modes import MERGE_MODES

        _one_of("mode", self.mode, MERGE_MODES.names())
        _one_of("raw mode", self.raw_mode, RAW_MODES)
        _one_of("mask mode", self.mask_mode, MASK_MODES)
        _one_of("color transfer", self.color_transfer, transfer_names())
        _in_range("erode mask modifier", self.erode_mask_modifier, -200, 200)
        _in_range("blur mask modifier", self.blur_mask_modifier, 0, 200)
        if self.clip_hborder_mask_per is not None and not 0 <= self.clip_hborder_mask_per < 0.5:
            raise UserError(f"mask border clip {self.clip_hborder_mask_per} is out of range; "
                            "use 0..0.5 (a fraction of the face's width)")
        _in_range("output face scale", self.output_face_scale, -50, 50)
        _in_range("hist match threshold", self.hist_match_threshold, 0, 255)
        _in_range("degrade color power", self.color_degrade_power, 0, 100)
        return self

    @property
    def is_raw(self) -> bool:
        from app.merge.modes import MERGE_MODES
        return bool(MERGE_MODES[self.mode].info.get("raw")) if self.mode in MERGE_MODES else False

    def to_dict(self) -> dict:
        return asdict(self)

    def output_settings(self) -> dict:
        """The settings that change the written pixels (debug and jitter-speed aside)."""
        d = self.to_dict()
        d.pop("debug")
        return d


def _one_of(what: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise UserError(f"unknown {what} {value!r}; use one of: {', '.join(choices)}")


def _in_range(what: str, value: int, lo: int, hi: int) -> None:
    if not lo <= int(value) <= hi:
        raise UserError(f"{what} {value} is out of range; use {lo}..{hi}")
