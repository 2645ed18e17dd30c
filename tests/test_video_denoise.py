"""Denoising in place: noise goes down, edges stay, names stay, a failure changes nothing."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.video.denoise import denoise_frames
from app.video.frames import extract_frames, list_frames

MEDIA = Path(__file__).parent / "media"


@pytest.fixture(scope="module")
def clean_frames(tmp_path_factory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("clean")
    extract_frames(MEDIA / "grid_m1.mpg", folder, progress=False)
    return {p.name: cv2.imread(str(p)) for p in list_frames(folder)[:20]}


def _noisy_copy(clean: dict[str, np.ndarray], folder: Path, ext: str = ".png",
                sigma: float = 5) -> None:
    """Camera-like noise; hqdn3d targets light noise (sigma 12 needs factor 20)."""
    rng = np.random.default_rng(0)
    for name, img in clean.items():
        noisy = np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / (Path(name).stem + ext)), noisy)


def _error(folder: Path, clean: dict[str, np.ndarray]) -> float:
    return float(np.mean([np.abs(cv2.imread(str(folder / n)).astype(float) - c).mean()
                          for n, c in clean.items()]))


def _edge_energy(img: np.ndarray) -> float:
    return float(np.abs(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F)).mean())


def test_denoise_lowers_noise_in_place(clean_frames, tmp_path):
    _noisy_copy(clean_frames, tmp_path)
    aligned = tmp_path / "aligned"
    aligned.mkdir()
    (aligned / "00001_0.jpg").write_bytes(b"face")
    noisy_error = _error(tmp_path, clean_frames)
    assert denoise_frames(tmp_path, factor=5, progress=False) == len(clean_frames)
    assert sorted(p.name for p in list_frames(tmp_path)) == sorted(clean_frames)
    assert _error(tmp_path, clean_frames) < 0.75 * noisy_error
    assert (aligned / "00001_0.jpg").read_bytes() == b"face"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_stronger_factor_smooths_more_but_keeps_edges(clean_frames, tmp_path):
    energies = []
    for factor in (1, 20):
        folder = tmp_path / str(factor)
        folder.mkdir()
        _noisy_copy(clean_frames, folder, sigma=12)
        denoise_frames(folder, factor=factor, progress=False)
        energies.append(np.mean([_edge_energy(cv2.imread(str(p))) for p in list_frames(folder)]))
    clean_energy = np.mean([_edge_energy(img) for img in clean_frames.values()])
    assert energies[1] < energies[0]
    assert energies[1] > 0.5 * clean_energy  # smoothed, not blurred flat


def test_denoise_jpg_frames(clean_frames, tmp_path):
    _noisy_copy(clean_frames, tmp_path, ".jpg")
    before = _error(tmp_path, {Path(n).stem + ".jpg": c for n, c in clean_frames.items()})
    denoise_frames(tmp_path, factor=5, progress=False)
    after = _error(tmp_path, {Path(n).stem + ".jpg": c for n, c in clean_frames.items()})
    assert after < before


def test_a_broken_frame_changes_nothing(clean_frames, tmp_path):
    _noisy_copy(clean_frames, tmp_path)
    (tmp_path / "00010.png").write_bytes(b"broken png")
    before = {p.name: p.read_bytes() for p in list_frames(tmp_path)}
    with pytest.raises(UserError) as exc:
        denoise_frames(tmp_path, factor=5, progress=False)
    assert str(tmp_path) in str(exc.value)
    assert {p.name: p.read_bytes() for p in list_frames(tmp_path)} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_bad_folders_and_factors(clean_frames, tmp_path):
    with pytest.raises(UserError, match="no frames to denoise"):
        denoise_frames(tmp_path, progress=False)
    _noisy_copy(clean_frames, tmp_path)
    (tmp_path / "00005.png").unlink()
    with pytest.raises(UserError, match="00005.png is missing"):
        denoise_frames(tmp_path, progress=False)
    with pytest.raises(UserError, match="1..20"):
        denoise_frames(tmp_path, factor=25, progress=False)
