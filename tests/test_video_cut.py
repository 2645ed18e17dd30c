"""Cutting: asked length, asked audio track, original kept, range checked, label written."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from app import ALTERED_MEDIA_LABEL
from app.errors import UserError
from app.video.cut import cut
from app.video.ffmpeg import count_frames, ffmpeg_exe, probe
from tests.video_decode import read_audio

MEDIA = Path(__file__).parent / "media"


@pytest.fixture(scope="module")
def two_tracks(tmp_path_factory) -> Path:
    """group3.mp4 with a second audio track: a 1 kHz mono tone at 22050 Hz."""
    out = tmp_path_factory.mktemp("cut") / "two_tracks.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
                    "-i", str(MEDIA / "group3.mp4"),
                    "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=22050:duration=3.1",
                    "-map", "0:v", "-map", "0:a", "-map", "1:a", "-c:v", "copy",
                    "-c:a", "aac", str(out)], check=True)
    return out


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def test_cut_has_asked_length_and_audio_track(two_tracks):
    info = probe(two_tracks)
    assert [a.sample_rate for a in info.audio_streams] == [44100, 22050]
    out = cut(two_tracks, 0.5, 2.0, audio_track=1, bitrate="8M", progress=False)
    assert out == two_tracks.with_name("two_tracks_cut.mp4")
    assert two_tracks.exists()  # the original is kept
    res = probe(out)
    assert abs(count_frames(out) - 1.5 * info.fps) <= 1
    assert res.duration == pytest.approx(1.5, abs=0.1)
    assert [(a.sample_rate, a.channels) for a in res.audio_streams] == [(22050, 1)]
    assert _dominant_hz(read_audio(out, 0, 8000), 8000) == pytest.approx(1000, abs=10)
    assert res.tags["comment"] == ALTERED_MEDIA_LABEL
    assert res.tags["description"] == ALTERED_MEDIA_LABEL


def test_cut_default_track_is_the_first(two_tracks, tmp_path):
    out = cut(two_tracks, 1.0, None, out_path=tmp_path / "rest.mp4", progress=False)
    res = probe(out)
    assert [a.sample_rate for a in res.audio_streams] == [44100]
    original = probe(two_tracks)
    expected = (original.duration - 1.0 - original.video_start) * original.fps
    assert abs(count_frames(out) - expected) <= 1.5
    speech = read_audio(out)
    assert abs(_dominant_hz(speech, 8000) - 1000) > 20  # not the tone track


def test_cut_keeps_container_of_mpeg_ps(tmp_path):
    src = tmp_path / "grid.mpg"
    shutil.copy(MEDIA / "grid_m1.mpg", src)
    out = cut(src, 0.4, 2.0, progress=False)
    assert out.name == "grid_cut.mpg" and src.stat().st_size == (MEDIA / "grid_m1.mpg").stat().st_size
    assert abs(count_frames(out) - 40) <= 1
    assert probe(out).audio_streams[0].codec == "mp2"


@pytest.mark.parametrize("start,end,words", [(1.0, 5.0, "outside the video"),
                                             (3.5, None, "outside the video"),
                                             (0.8, 0.5, "empty"), (-1.0, 1.0, "negative")])
def test_cut_rejects_ranges_outside_the_video(tmp_path, start, end, words):
    src = tmp_path / "clip.mp4"
    shutil.copy(MEDIA / "codecs" / "h264_aac.mp4", src)
    with pytest.raises(UserError, match=words) as exc:
        cut(src, start, end, progress=False)
    assert str(src) in str(exc.value)
    assert not (tmp_path / "clip_cut.mp4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_cut_rejects_missing_audio_track(two_tracks):
    with pytest.raises(UserError, match="audio track 2 does not exist"):
        cut(two_tracks, 0.0, 1.0, audio_track=2, progress=False)
