"""The face types an aligned face can have (DeepFaceLab's): the one list every step reads.

Narrowest to widest: half (brows to chin), midfull (DeepFaceLab 2.0's mid face, a little wider
than half), full, whole (2.0's whole face: full plus the forehead), head.

Import-light on purpose: the CLI builds its choices from it at start-up.
"""

FACE_TYPES = ("half", "midfull", "full", "whole", "head")
