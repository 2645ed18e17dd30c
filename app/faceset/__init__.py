"""Face sets: the aligned-face file format (metadata), sorting and set tools."""
