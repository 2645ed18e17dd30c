"""Every merge setting, declared once as an option table, so the algorithms never ask anything.

Names and ranges follow DeepFaceLab 1.0's converter questions; the CLI builds its flags and asks
them from MERGE_OPTIONS and builds a `MergeOptions`; tests and scripts build one directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from app.errors import UserError
from app.merge.modes import MERGE_MODES
from app.merge.sharpen import SHARPEN_MODES
from app.options import Option, defaults

RAW_MODES = ("rgb", "rgb-mask", "mask-only", "predicted-only")
MASK_MODES = ("learned", "dst", "FAN-prd", "FAN-dst", "FAN-prd*FAN-dst",
              "learned*FAN-prd*FAN-dst")
#: mask modes that need the obstruction-aware mask network (app.masknet)
FAN_MASK_MODES = MASK_MODES[2:]

HELP_MASK = ("learned: the mask the model learned; dst: the dst face's landmark hull (shaky but "
             "exact); FAN-prd / FAN-dst: the obstruction-aware mask network (leaves out hands, "
             "microphones, hair) on the predicted / the dst face; the last two multiply masks. "
             "The network is trained on your faces the first time (about 8 minutes on CPU; "
             "`python -m app mask train` does it ahead).")
HELP_SR = ("Sharpens the predicted face x2 with a small network trained on your src faces "
           "(trained once, a few minutes on CPU, stored in the model folder).")
HELP_SHARPEN = ("Sharpens the predicted face's edges (box: stronger, gaussian: softer), or with a "
                "negative amount blurs it (median passes), as DeepFaceLab 2.0's merger does. "
                "On a young, soft model at 64-128 px try gaussian 2-5 (the demo uses 2); more "
                "brings halos and noise.")
HELP_JITTER = ("Seamless clone makes the face's tint flicker slightly from frame to frame (the "
               "mask edge follows shaky landmarks). This solves the blend at 2x resolution and "
               "evens its level over the 2 frames before and after each frame; about 4x the "
               "image work of plain seamless.")
HELP_MORPH = ("AMP models: 1.0 gives the src face, lower values a face between dst's (0.0) and "
              "src's, as DeepFaceLab's AMP merger and DeepFaceLive's morph slider do.")


def _morphing(c: dict) -> bool:
    """Asked for morphing models only: the CLI's context says whether the model is one."""
    return bool(c.get("morphing_model", True))


def _mode_info(chosen: dict, flag: str) -> bool:
    mode = MERGE_MODES.get(chosen.get("mode"))
    return bool(mode is not None and mode.info.get(flag))


def _raw(c: dict) -> bool:
    return _mode_info(c, "raw")


def _not_raw(c: dict) -> bool:
    return not _mode_info(c, "raw")


def _seamless(c: dict) -> bool:
    return _mode_info(c, "seamless")


def _hist_matched(c: dict) -> bool:
    return _mode_info(c, "hist_match") or bool(c.get("seamless_hist_match"))


_RAW = "a raw mode pastes the model's face as it is; leave the flag out or choose another mode"
_NOT_SEAMLESS = "only seamless modes blend by Poisson; add --mode seamless or leave the flag out"
_NOT_HIST = ("only the hist-match modes and seamless hist match match histograms; choose one "
             "of them or leave the flag out")


def _mode_labels() -> tuple[str, ...]:
    return tuple(m.label for m in MERGE_MODES.values())


def _mode_help() -> str:
    return "; ".join(f"{m.label}: {m.help}" for m in MERGE_MODES.values() if m.help) + "."


def _transfer_names() -> tuple[str, ...]:
    from app.color_transfer import transfer_names
    return transfer_names()


def _transfer_help() -> str:
    from app.color_transfer import TRANSFERS
    return ("; ".join(f"{t.name}: {t.help}" for t in TRANSFERS.values() if t.help) +
            ". Moves the face's colours towards the dst face's.")


#: DeepFaceLab 1.0's converter questions, in its order: the CLI's flags, questions and --help
#: come from here (app/cli/option_table.py), and so do MergeOptions' defaults and checks.
MERGE_OPTIONS = (
    Option("debug", "Debug mode (write every stage)?", False, "bool",
           flag_help="also write every stage to data_dst/merged_debug/"),
    Option("morph_value", "Morph factor [{range}]", 1.0, "float", 0.0, 1.0, flag="--morph",
           help=HELP_MORPH, when=_morphing, flag_help="morph factor (AMP models)",
           why_not="only a morphing model (AMP) has a morph factor; leave --morph out"),
    Option("mode", "Choose mode: {choices}.", "seamless", "choice", choices=MERGE_MODES.names,
           labels=_mode_labels, help=_mode_help, flag_help="merge mode"),
    Option("raw_mode", "Choose raw mode: {choices}", "rgb-mask", "choice", choices=RAW_MODES,
           labels=("rgb", "rgb+mask", "mask only", "predicted only"), when=_raw,
           why_not="only the raw mode writes raw layers; add --mode raw"),
    Option("suppress_seamless_jitter", "Suppress seamless jitter?", False, "bool",
           help=HELP_JITTER, when=_seamless, why_not=_NOT_SEAMLESS),
    Option("seamless_hist_match", "Seamless hist match?", False, "bool", when=_seamless,
           why_not=_NOT_SEAMLESS),
    Option("masked_hist_match", "Masked hist match?", True, "bool", when=_hist_matched,
           why_not=_NOT_HIST),
    Option("hist_match_threshold", "Hist match threshold [{range}]", 255, "int", 0, 255,
           when=_hist_matched, why_not=_NOT_HIST),
    Option("mask_mode", "Mask mode: {choices}", "learned", "choice", choices=MASK_MODES,
           help=HELP_MASK),
    Option("erode_mask_modifier", "Choose erode mask modifier [{range}]", 0, "int", -200, 200,
           flag="--erode", flag_help="erode mask modifier", when=_not_raw, why_not=_RAW),
    Option("blur_mask_modifier", "Choose blur mask modifier [{range}]", 0, "int", 0, 200,
           flag="--blur", flag_help="blur mask modifier", when=_not_raw, why_not=_RAW),
    Option("output_face_scale", "Choose output face scale modifier [{range}]", 0, "int", -50, 50,
           flag="--face-scale", flag_help="output face scale, %"),
    Option("color_transfer", "Apply color transfer to predicted face? {choices}", "none",
           "choice", choices=_transfer_names, help=_transfer_help, flag_help="colour transfer"),
    Option("super_resolution", "Apply super resolution?", False, "bool", help=HELP_SR),
    Option("sharpen_mode", "Choose sharpen mode: {choices}", "none", "choice",
           choices=SHARPEN_MODES, help=HELP_SHARPEN, when=_not_raw, why_not=_RAW),
    Option("blursharpen_amount", "Choose blur/sharpen amount [{range}]", 0, "int", -100, 100,
           flag="--sharpen", when=_not_raw, why_not=_RAW,
           flag_help="blur (<0) / sharpen (>0) amount (sharpening needs --sharpen-mode)"),
    Option("color_degrade_power", "Degrade color power of final image [{range}]", 0, "int", 0,
           100, flag="--degrade-color", flag_help="degrade colour power", when=_not_raw,
           why_not=_RAW),
    Option("export_alpha", "Export png with alpha channel?", False, "bool", when=_not_raw,
           why_not=_RAW,
           flag_help="PNG frames with an alpha channel (face only)"),
)
_DEFAULT = defaults(MERGE_OPTIONS)


@dataclass
class MergeOptions:
    """One merge run's settings: MERGE_OPTIONS' values (defaults and ranges are declared there),
    plus `clip_hborder_mask_per`: the fraction of the face's width cut softly off the mask's
    left, right and bottom edges before the blur (DeepFaceLab's SAE full face: 0.0625); None
    takes the model's default (`FaceModel.merge_defaults`) when the merge starts.
    """

    morph_value: float = _DEFAULT["morph_value"]
    mode: str = _DEFAULT["mode"]
    raw_mode: str = _DEFAULT["raw_mode"]
    suppress_seamless_jitter: bool = _DEFAULT["suppress_seamless_jitter"]
    seamless_hist_match: bool = _DEFAULT["seamless_hist_match"]
    masked_hist_match: bool = _DEFAULT["masked_hist_match"]
    hist_match_threshold: int = _DEFAULT["hist_match_threshold"]
    mask_mode: str = _DEFAULT["mask_mode"]
    erode_mask_modifier: int = _DEFAULT["erode_mask_modifier"]
    blur_mask_modifier: int = _DEFAULT["blur_mask_modifier"]
    clip_hborder_mask_per: float | None = None
    output_face_scale: int = _DEFAULT["output_face_scale"]
    color_transfer: str = _DEFAULT["color_transfer"]
    super_resolution: bool = _DEFAULT["super_resolution"]
    sharpen_mode: str = _DEFAULT["sharpen_mode"]
    blursharpen_amount: int = _DEFAULT["blursharpen_amount"]
    color_degrade_power: int = _DEFAULT["color_degrade_power"]
    export_alpha: bool = _DEFAULT["export_alpha"]
    debug: bool = _DEFAULT["debug"]

    def validate(self) -> "MergeOptions":
        """Check every value against MERGE_OPTIONS (UserError naming the option and what is
        allowed); values come back in their proper type."""
        for o in MERGE_OPTIONS:
            setattr(self, o.key, o.check(getattr(self, o.key)))
        if self.blursharpen_amount > 0 and self.sharpen_mode == "none":
            raise UserError(f"blur/sharpen amount {self.blursharpen_amount} sharpens with a "
                            "sharpen mode: choose --sharpen-mode box or gaussian (a negative "
                            "amount blurs without one)")
        if self.clip_hborder_mask_per is not None and not 0 <= self.clip_hborder_mask_per < 0.5:
            raise UserError(f"mask border clip {self.clip_hborder_mask_per} is out of range; "
                            "use 0..0.5 (a fraction of the face's width)")
        return self

    @property
    def is_raw(self) -> bool:
        return bool(MERGE_MODES[self.mode].info.get("raw")) if self.mode in MERGE_MODES else False

    def to_dict(self) -> dict:
        return asdict(self)

    def output_settings(self) -> dict:
        """The settings that change the written pixels (debug and jitter-speed aside)."""
        d = self.to_dict()
        d.pop("debug")
        return d
