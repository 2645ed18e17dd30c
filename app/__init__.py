"""Face-replacement studio: DeepFaceLab 1.0's workflow on today's engines.

Kept import-light on purpose: `python -m app --help` must start in well under a second, so heavy
modules (torch, cv2, dlib, tinygrad) are imported only inside the command that needs them.
"""

__version__ = "0.1.0"

#: Written into every file the app produces, so altered media can be recognised.
ALTERED_MEDIA_LABEL = "altered media: face replaced by faceswap-studio (synthetic content)"
