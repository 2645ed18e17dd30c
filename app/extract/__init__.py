"""Face extraction: detectors, 68 landmarks, alignment, writing aligned-face files."""
