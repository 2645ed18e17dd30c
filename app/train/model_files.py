"""Moved to app.models.files (the models layer reads model files; training writes them).

Kept so code written against the old path still imports."""

from app.models.files import (FORMAT, KEEP_BACKUPS, ModelFiles, find_model_files,  # noqa: F401
                              foreign_model_files)
