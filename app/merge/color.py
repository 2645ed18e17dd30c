"""Moved to app.color_transfer (training's SAEHD colour modes use the transfers too, and
training sits beside merge, not above it). Kept so existing imports keep working: the names
below are the same objects (TRANSFERS is the one registry)."""

from app.color_transfer import *  # noqa: F401,F403
from app.color_transfer import TRANSFERS, color_transfer, transfer_names  # noqa: F401
