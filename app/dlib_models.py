"""dlib's detectors and 68-point predictor, from the `face-recognition-models` package (offline).

`face_recognition_models` imports `pkg_resources` (gone from modern setuptools), so its files are
located with importlib instead of importing it. Nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from app.errors import UserError

SHAPE_68 = "shape_predictor_68_face_landmarks.dat"
MMOD_CNN = "mmod_human_face_detector.dat"


def models_dir() -> Path:
    """Folder holding dlib's .dat files (inside the installed package, or a frozen build)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the face-recognition-models package is not installed; install the "
                        "requirements (pip install -r requirements.txt)")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def model_path(name: str) -> Path:
    path = models_dir() / name
    if not path.is_file():
        raise UserError(f"dlib model file {name} is missing; reinstall face-recognition-models",
                        path)
    return path


@lru_cache(maxsize=None)
def hog_detector():
    """dlib's frontal HOG + linear SVM detector (fast, frontal faces >= ~80 px, 40 px upsampled)."""
    import dlib
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=None)
def cnn_detector():
    """dlib's MMOD CNN detector (slower; finds turned, occluded and smaller faces)."""
    import dlib
    return dlib.cnn_face_detection_model_v1(str(model_path(MMOD_CNN)))


@lru_cache(maxsize=None)
def shape_predictor_68():
    """dlib's 68-point iBUG shape predictor (the layout DeepFaceLab uses)."""
    import dlib
    return dlib.shape_predictor(str(model_path(SHAPE_68)))
