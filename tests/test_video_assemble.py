"""Assembling merged frames: FPS, frame count, dst audio, alpha kept, altered-media label."""

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import ALTERED_MEDIA_LABEL
from app.errors import UserError
from app.video.assemble import FORMATS, assemble
from app.video.ffmpeg import count_frames, probe
from app.video.frames import extract_frames, list_frames
from tests.video_decode import read_audio, read_frame_rgba

MEDIA = Path(__file__).parent / "media"
DST = MEDIA / "grid_m1.mpg"


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> Path:
    """dst frames as RGBA PNGs whose alpha varies across the frame and from frame to frame."""
    folder = tmp_path_factory.mktemp("merged")
    extract_frames(DST, folder, progress=False)
    for i, p in enumerate(list_frames(folder)):
        img = cv2.imread(str(p))
        h, w = img.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        alpha = ((xx + yy + 3 * i) % 256).astype(np.uint8)
        cv2.imwrite(str(p), np.dstack([img, alpha]))
    return folder


def _best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 400) -> float:
    n = min(len(a), len(b)) - 2 * max_lag
    ref = a[max_lag:max_lag + n]
    best = 0.0
    for lag in range(0, 2 * max_lag + 1, 2):
        seg = b[lag:lag + n]
        best = max(best, float(np.corrcoef(ref, seg)[0, 1]))
    return best


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_result_has_fps_frames_dst_audio_and_label(merged, tmp_path, fmt):
    dst = probe(DST)
    out = assemble(merged, tmp_path / "result", dst.fps_exact, audio_from=DST, fmt=fmt,
                   progress=False)
    assert out == tmp_path / ("result" + FORMATS[fmt].ext) and out.is_file()
    info = probe(out)
    assert info.fps == 25
    assert count_frames(out) == 75
    assert len(info.audio_streams) == 1
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert _best_correlation(read_audio(DST), read_audio(out)) > 0.8
    assert info.tags["comment"] == ALTERED_MEDIA_LABEL
    second = "subject" if fmt == "avi" else "description"
    assert info.tags[second] == ALTERED_MEDIA_LABEL
    source = cv2.cvtColor(cv2.imread(str(merged / "00011.png"), cv2.IMREAD_UNCHANGED),
                          cv2.COLOR_BGRA2RGBA)
    frame = read_frame_rgba(out, 10)
    if FORMATS[fmt].lossless:
        assert info.has_alpha
        assert frame.shape == (288, 360, 4) and frame[..., 3].std() > 20
        np.testing.assert_array_equal(frame, source)  # lossless, alpha included
    else:
        assert not info.has_alpha
        assert np.abs(frame[..., :3].astype(int) - source[..., :3]).mean() < 8


def test_ntsc_rate_odd_size_and_audio_cut_to_video(merged, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for p in list_frames(merged)[:30]:
        cv2.imwrite(str(frames / p.name), cv2.imread(str(p))[:287, :359])
    out = assemble(frames, tmp_path / "ntsc.mp4", "30000/1001", audio_from=DST, progress=False)
    info = probe(out)
    assert info.fps_exact == "30000/1001" and count_frames(out) == 30
    assert (info.width, info.height) == (360, 288)  # padded to even for yuv420p
    assert info.duration == pytest.approx(30 / 29.97, abs=0.1)


def test_without_audio_source(merged, tmp_path):
    out = assemble(merged, tmp_path / "silent.avi", 25, fmt="avi", progress=False)
    assert probe(out).audio_streams == [] and count_frames(out) == 75


def test_bad_frame_folders_change_nothing(merged, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no merged frames") as exc:
        assemble(empty, tmp_path / "r.mp4", 25, progress=False)
    assert str(empty) in str(exc.value)
    gap = tmp_path / "gap"
    shutil.copytree(merged, gap)
    (gap / "00040.png").unlink()
    with pytest.raises(UserError, match="00040.png is missing"):
        assemble(gap, tmp_path / "r.mp4", 25, progress=False)
    (gap / "00040.jpg").write_bytes(b"x")
    with pytest.raises(UserError, match="mixed"):
        assemble(gap, tmp_path / "r.mp4", 25, progress=False)
    with pytest.raises(UserError, match="unknown output format"):
        assemble(merged, tmp_path / "r.mkv", 25, fmt="mkv", progress=False)
    assert not list(tmp_path.glob("r.*")) and not list(tmp_path.glob(".r.*"))
