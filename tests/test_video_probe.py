"""Probing without ffprobe, locating ffmpeg, and the small parsers (times, rates, bitrates)."""

from pathlib import Path

import pytest

from app.errors import UserError
from app.video.cut import parse_bitrate
from app.video.ffmpeg import exact_rate, ffmpeg_exe, parse_probe, probe
from app.video.timecode import format_time, parse_time

MEDIA = Path(__file__).parent / "media"
CODECS = sorted((MEDIA / "codecs").iterdir())


def test_probe_grid_clip():
    info = probe(MEDIA / "grid_m1.mpg")
    assert (info.width, info.height) == (360, 288)
    assert info.fps == 25 and info.fps_exact == "25"
    assert info.video_codec == "mpeg1video"
    assert info.duration == pytest.approx(2.98, abs=0.01)
    assert [(a.audio_index, a.codec, a.sample_rate, a.channels) for a in info.audio_streams] \
        == [(0, "mp2", 44100, 2)]


@pytest.mark.parametrize("path", CODECS, ids=lambda p: p.name)
def test_probe_every_codec_file(path):
    info = probe(path)
    expected_codec = {"h264_aac": "h264", "h265_aac": "hevc", "mp4v_aac": "mpeg4",
                      "vp8_opus": "vp8", "xvid_aac": "mpeg4"}[path.stem]
    assert info.video_codec == expected_codec
    assert (info.width, info.height) == (640, 480)
    assert info.fps_exact == "30000/1001"
    assert 1.0 <= info.duration <= 1.1
    assert len(info.audio_streams) == 1 and info.audio_streams[0].channels == 2


def test_parse_probe_reads_several_audio_tracks_and_tags():
    text = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Metadata:
    major_brand     : isom
    comment         : hello: world
  Duration: 00:01:02.50, start: 0.000000, bitrate: 925 kb/s
  Stream #0:0[0x1](eng): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 802 kb/s, 23.98 fps, 23.98 tbr, 24k tbn (default)
    Metadata:
      comment         : stream level, not the container
  Stream #0:1[0x2](eng): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, 5.1, fltp, 384 kb/s (default)
  Stream #0:2[0x3](fra): Audio: ac3, 44100 Hz, mono, fltp, 96 kb/s
"""
    info = parse_probe(text, Path("x.mp4"))
    assert (info.width, info.height, info.fps_exact) == (1920, 1080, "24000/1001")
    assert info.duration == pytest.approx(62.5)
    assert info.tags["comment"] == "hello: world"
    assert [(a.index, a.audio_index, a.codec, a.sample_rate, a.channels, a.language)
            for a in info.audio_streams] == [(1, 0, "aac", 48000, 6, "eng"),
                                             (2, 1, "ac3", 44100, 1, "fra")]
    assert info.frame_count_estimate == round(62.5 * 23.98)


def test_parse_probe_rejects_audio_only():
    text = """Input #0, mp3, from 'a.mp3':
  Duration: 00:00:03.00, start: 0.000000, bitrate: 128 kb/s
  Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s
"""
    with pytest.raises(UserError, match="no video stream"):
        parse_probe(text, Path("a.mp3"))


def test_probe_bad_inputs_name_the_file(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is a text file, not a video\n" * 20)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for path, words in [(tmp_path / "missing.mp4", "not found"),
                        (fake, "not a video"), (empty, "empty"), (tmp_path, "folder")]:
        with pytest.raises(UserError, match=words) as exc:
            probe(path)
        assert str(path) in str(exc.value)


def test_ffmpeg_choice_by_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("FACESTUDIO_FFMPEG", raising=False)
    bundled = ffmpeg_exe()
    assert "imageio_ffmpeg" in bundled and Path(bundled).is_file()
    monkeypatch.setenv("FACESTUDIO_FFMPEG", bundled)
    assert ffmpeg_exe() == bundled
    monkeypatch.setenv("FACESTUDIO_FFMPEG", str(tmp_path / "no-ffmpeg"))
    with pytest.raises(UserError, match="ffmpeg not found"):
        ffmpeg_exe()
    monkeypatch.setenv("FACESTUDIO_FFMPEG", "system")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="no ffmpeg is on PATH"):
        ffmpeg_exe()


@pytest.mark.parametrize("text,seconds", [("00:00:01.500", 1.5), ("1:02.25", 62.25),
                                          ("62.25", 62.25), ("01:00:00", 3600), ("0", 0)])
def test_parse_time(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)
    assert parse_time(format_time(seconds)) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1:2:3:4", "00:61:00", "00:00:75", "-1"])
def test_parse_time_rejects(text):
    with pytest.raises(ValueError):
        parse_time(text)


def test_exact_rates_and_bitrates():
    assert [exact_rate(f) for f in (29.97, 23.98, 59.94, 25.0, 30.0, 12.5)] == \
        ["30000/1001", "24000/1001", "60000/1001", "25", "30", "25/2"]
    assert [parse_bitrate(b) for b in ("25", "25M", "8000k", 16, "2.5m")] == \
        ["25M", "25M", "8000K", "16M", "2.5M"]
    for bad in ("", "fast", "0", "-5M"):
        with pytest.raises(ValueError):
            parse_bitrate(bad)
