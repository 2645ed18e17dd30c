"""Option descriptions: one table per model plus the trainer's general options.

The CLI turns each `Option` into a DeepFaceLab-style question (first run: all; later runs, after
"Press enter in 2 seconds to override some model settings.": only the overridable ones); the
trainer and models only read validated values. Keeping the table here means the questions, the
saved JSON and the validation can never disagree.
"""

from __future__ import annotations

from app.options import Option, refuse_inapplicable, resolve

__all__ = ["Option", "resolve", "refuse_inapplicable", "PIXEL_LOSS", "LEARN_MASK", "GENERAL",
           "GENERAL_KEYS"]


PIXEL_LOSS = Option(
    "pixel_loss", "Use pixel loss", False, "bool", overridable=True,
    help="Default DSSIM loss learns the structure of faces; switch to pixel loss (MSE) after "
         "about 15-25k iterations to enhance fine details (may cause colour jitter).")

LEARN_MASK = Option(
    "learn_mask", "Learn mask", True, "bool",
    help="A mask branch per decoder learns the face mask used by merge (DeepFaceLab's H64, "
         "H128, DF and LIAEF128 always have it). Off: about 40 % less work per step; merge then "
         "uses the dst landmarks' hull.")

#: The trainer's own questions (DeepFaceLab's ModelBase), asked before the model's.
GENERAL = (
    Option("write_preview_history", "Write preview history", False, "bool", overridable=True,
           help="Save a preview image every so often into model/<NAME>_history/."),
    Option("target_iter", "Target iteration", 0, "int", lo=0, overridable=True,
           help="Save and stop when this iteration is reached; 0 = unlimited."),
    Option("batch_size", "Batch size", None, "int", lo=1, hi=1024, overridable=True,
           help="Faces per side per step. Larger is better for quality and slower per step; "
                "lower it if you run out of memory."),
    Option("sort_by_yaw", "Feed faces to network sorted by yaw", False, "bool", overridable=True,
           help="Pairs each dst face with src faces of the same head pose (mirrored src faces "
                "too while flips are on), so the model learns the poses dst shows; use it when "
                "src was filmed turned another way than dst, or has far more faces."),
    Option("learning_rate", "Learning rate", 5e-5, "float", lo=1e-6, hi=1e-2, overridable=True,
           help="Adam's step size. DeepFaceLab's 5e-05 is safe for long runs; short runs on a "
                "small face set (the demo) learn several times faster at 2e-04 to 5e-04."),
    Option("random_flip", "Flip faces randomly", True, "bool", overridable=True,
           help="Mirrored src faces give more poses; turn off when the face is asymmetric "
                "(a scar, a parting) and src has enough faces."),
    Option("src_scale_mod", "Src face scale modifier % ( -30...30 )", 0, "int", lo=-30, hi=30,
           overridable=True,
           help="Zooms src faces in (>0) or out (<0) in training, for src faces of another size."),
    Option("ema_decay", "Merge with averaged weights (EMA decay, 0 = off)", 0.0, "float",
           lo=0.0, hi=0.9999, overridable=True,
           help="Keeps a running average of the weights (about the last 1/(1-decay) steps, e.g. "
                "0.99: 100) and merges and exports with it: the result depends far less on the "
                "step training stopped at, most of all at a high learning rate. Not in "
                "DeepFaceLab; 0 merges with the training weights, as it does."),
)

#: General options every model file stores (besides the model's own).
GENERAL_KEYS = tuple(o.key for o in GENERAL)
