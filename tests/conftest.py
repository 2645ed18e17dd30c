"""Shared fixtures: test media lives in tests/media (copied from ../shared/data, see ATTRIBUTION.md)."""

from pathlib import Path

import pytest

MEDIA = Path(__file__).parent / "media"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def media() -> Path:
    return MEDIA
