"""Frame extraction on real clips: counts, FPS choice, formats, and old frames kept safe."""

from pathlib import Path

import cv2
import pytest

from app.errors import UserError
from app.video.ffmpeg import count_frames, probe
from app.video.frames import extract_frames, list_frames

MEDIA = Path(__file__).parent / "media"
CODECS = sorted((MEDIA / "codecs").iterdir())


@pytest.mark.parametrize("path", CODECS, ids=lambda p: p.name)
def test_frame_count_matches_duration_times_fps(path, tmp_path):
    info = probe(path)
    n = extract_frames(path, tmp_path, ext="jpg", progress=False)
    frames = list_frames(tmp_path)
    assert n == len(frames)
    # every decoded frame once: no duplicates from a frame-rate conversion, none dropped
    assert n == count_frames(path)
    # the container duration covers the longest stream (audio may run a few ms longer)
    assert abs(n - (info.duration - info.video_start) * info.fps) <= 1.5
    assert [p.name for p in frames] == [f"{i:05d}.jpg" for i in range(1, n + 1)]
    img = cv2.imread(str(frames[-1]))
    assert img.shape == (480, 640, 3) and img.std() > 10


def test_full_fps_png_on_mpeg1(tmp_path):
    path = MEDIA / "grid_m1.mpg"
    n = extract_frames(path, tmp_path, progress=False)
    assert n == 75 == round(probe(path).duration * 25 + 0.5)
    first = cv2.imread(str(tmp_path / "00001.png"), cv2.IMREAD_UNCHANGED)
    assert first.shape == (288, 360, 3)


def test_lower_fps_keeps_fewer_frames(tmp_path):
    path = MEDIA / "group3.mp4"
    info = probe(path)
    n = extract_frames(path, tmp_path, fps=10, ext="jpg", progress=False)
    assert abs(n - (info.duration - info.video_start) * 10) <= 1.5


def test_extracting_again_replaces_frames_but_not_aligned(tmp_path):
    aligned = tmp_path / "aligned"
    aligned.mkdir()
    (aligned / "00001_0.jpg").write_bytes(b"face")
    extract_frames(MEDIA / "group3.mp4", tmp_path, ext="png", fps=5, progress=False)
    assert list_frames(tmp_path)[0].suffix == ".png"
    n = extract_frames(MEDIA / "group3.mp4", tmp_path, ext="jpg", fps=2, progress=False)
    frames = list_frames(tmp_path)
    assert len(frames) == n and {p.suffix for p in frames} == {".jpg"}
    assert (aligned / "00001_0.jpg").read_bytes() == b"face"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_bad_video_leaves_existing_frames(tmp_path):
    frames_dir = tmp_path / "data_dst"
    extract_frames(MEDIA / "codecs" / "h264_aac.mp4", frames_dir, ext="jpg", progress=False)
    before = {p.name: p.read_bytes() for p in list_frames(frames_dir)}
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video\n")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes((MEDIA / "group3.mp4").read_bytes()[:4000])
    for bad in (fake, truncated, tmp_path / "missing.mp4"):
        with pytest.raises(UserError) as exc:
            extract_frames(bad, frames_dir, ext="png", progress=False)
        assert bad.name in str(exc.value)
    assert {p.name: p.read_bytes() for p in list_frames(frames_dir)} == before
    assert not [p for p in frames_dir.iterdir() if p.name.startswith(".")]


def test_rejects_unknown_format_and_bad_fps(tmp_path):
    with pytest.raises(UserError, match="bmp"):
        extract_frames(MEDIA / "grid_m1.mpg", tmp_path, ext="bmp")
    with pytest.raises(UserError, match="positive"):
        extract_frames(MEDIA / "grid_m1.mpg", tmp_path, fps=-1)


def test_fps_above_the_video_rate_keeps_every_frame_and_stale_work_is_removed(tmp_path):
    stale = tmp_path / ".extracting-killed"
    stale.mkdir()
    (stale / "00001.png").write_bytes(b"left by a killed run")
    n = extract_frames(MEDIA / "codecs" / "h264_aac.mp4", tmp_path, fps=60, ext="jpg",
                       progress=False)
    assert n == count_frames(MEDIA / "codecs" / "h264_aac.mp4")
    assert not stale.exists()
