"""The face types an aligned face can have (DeepFaceLab's): the one list every step reads.

Import-light on purpose: the CLI builds its choices from it at start-up.
"""

FACE_TYPES = ("half", "full", "head")
