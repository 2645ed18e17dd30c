"""Atomic writes (see backends.fileio, where they live so the engine layer stands alone)."""

from backends.fileio import (atomic_path, atomic_write_bytes, atomic_write_text,
                             remove_stale_temps, remove_stale_temps_of)

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "remove_stale_temps",
           "remove_stale_temps_of"]
