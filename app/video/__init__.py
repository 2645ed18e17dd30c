"""Video steps on a real ffmpeg: extract frames (2, 3), cut and denoise (3), assemble (8).

One module per step (`frames`, `cut`, `denoise`, `assemble`; `ffmpeg` finds and runs ffmpeg,
`probe`s videos); each function takes plain arguments and never asks questions. `options` holds
the steps' choices for the CLI. This package file imports nothing, so reading the options at
start-up does not load ffmpeg's helpers.
"""
