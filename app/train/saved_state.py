"""Moved to app.models.saved_state (model files are read in the models layer).

Kept so code written against the old path still imports."""

from app.models.saved_state import SEED_MAX, check_saved_data  # noqa: F401
