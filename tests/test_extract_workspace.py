"""The whole sample workspace: every dst frame gets exactly one face, src faces come out aligned."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from app.extract.accuracy import eye_centres
from app.extract.pipeline import ExtractOptions, extract_folder
from app.faceset.face_file import list_faces, read_meta

REPO = Path(__file__).resolve().parent.parent


def _frames(video: Path, out: Path) -> Path:
    import imageio_ffmpeg
    out.mkdir(parents=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(video),
                    str(out / "%05d.png")], check=True)
    return out


def test_every_dst_frame_of_the_sample_gets_exactly_one_face(tmp_path):
    frames = _frames(REPO / "workspace" / "data_dst.mpg", tmp_path / "data_dst")
    n = len(list(frames.glob("*.png")))
    assert n >= 70
    report = extract_folder(frames, frames / "aligned", tmp_path / "aligned_debug",
                            ExtractOptions(side="dst", workers=2), progress=False)
    assert report.faces == n and not report.no_face and not report.bad
    names = sorted(p.name for p in list_faces(frames / "aligned"))
    assert names == sorted(f"{p.stem}_0.jpg" for p in frames.glob("*.png"))
    # smoothed landmarks: the aligned eyes barely move from frame to frame
    eyes = np.array([eye_centres(read_meta(frames / "aligned" / name).landmarks)
                     for name in names])
    step = np.linalg.norm(np.diff(eyes, axis=0), axis=2)
    assert np.median(step) < 1.0 and step.max() < 6.0


def test_sample_src_faces_are_aligned(tmp_path):
    frames = _frames(REPO / "workspace" / "data_src.mp4", tmp_path / "data_src")
    n = len(list(frames.glob("*.png")))
    report = extract_folder(frames, frames / "aligned", None,
                            ExtractOptions(side="src", workers=2), progress=False)
    assert report.faces == n and not report.no_face
    eyes = np.array([eye_centres(read_meta(p).landmarks) for p in list_faces(frames / "aligned")])
    tilt = np.degrees(np.arctan2(eyes[:, 1, 1] - eyes[:, 0, 1], eyes[:, 1, 0] - eyes[:, 0, 0]))
    assert np.abs(tilt).max() < 5
    assert eyes.std(axis=0).max() < 3.0  # pixels of a 256 px face
