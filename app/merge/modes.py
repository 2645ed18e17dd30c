"""The merge modes (DeepFaceLab's converter modes), one registered function each.

A mode function turns the predicted face into the face that is pasted, `(face, dst_face, mask,
opts) -> face` (S x S float32 BGR 0..1; `mask` is the face mask at that size). Flags on the
registration say what happens around it: `seamless` Poisson-blends the pasted face into the
frame (app.merge.compose), `raw` writes raw layers instead (the function is not called),
`hist_match` asks the hist-match questions. Adding a mode is one decorated function here; the
CLI's choices, numbered question and --help read MERGE_MODES.
"""

from __future__ import annotations

from app.registry import FunctionRegistry

#: every merge mode by name, in DeepFaceLab's order (the question numbers follow it)
MERGE_MODES = FunctionRegistry()


@MERGE_MODES.register("overlay", help="paste the face as is")
def overlay(face, dst_face, mask, opts):
    return face


@MERGE_MODES.register("hist-match", label="hist match", hist_match=True,
                      help="match the face's histogram to dst's")
def hist_match(face, dst_face, mask, opts):
    from app import color_transfer as color
    return color.hist_match(face, dst_face, opts.hist_match_threshold,
                            mask if opts.masked_hist_match else None)


@MERGE_MODES.register("hist-match-bw", label="hist match bw", hist_match=True,
                      help="same on a grey face")
def hist_match_bw(face, dst_face, mask, opts):
    import cv2
    import numpy as np
    grey = np.repeat(cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)[..., None], 3, axis=-1)
    return hist_match(grey, dst_face, mask, opts)


@MERGE_MODES.register("seamless", seamless=True,
                      help="Poisson blend into dst (default)")
def seamless(face, dst_face, mask, opts):
    return face


@MERGE_MODES.register("raw", raw=True,
                      help="raw layers (face, mask) for compositing in another program")
def raw(face, dst_face, mask, opts):
    return face


def mode(name: str):
    """The registered mode `name` (KeyError for an unknown one: options are validated first)."""
    return MERGE_MODES[name]
