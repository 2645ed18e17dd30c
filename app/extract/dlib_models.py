"""Moved to app.dlib_models (identity embeddings need the dlib files too, below extraction).

Kept so a detector file written against the old path still imports."""

from app.dlib_models import (MMOD_CNN, cnn_detector, hog_detector, model_path,  # noqa: F401
                             models_dir, shape_predictor_68)
