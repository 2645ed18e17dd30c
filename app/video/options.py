"""The video steps' choices, declared once (app.options.Option): the CLI's flags, DeepFaceLab's
questions and --help come from these tables (app/cli/option_table.py); app.video's functions
receive the validated values. Light: read at start-up (app/video/__init__.py imports nothing;
the parsers and formats below are imported when used).

What each table's `when` may read is given by the command before the questions: `side`
(extract), `audio_tracks` (cut: how many the video has), `has_dst` and `format` (assemble).
"""

from __future__ import annotations

from app.frame_files import FRAME_FORMATS
from app.options import Option

FPS_HELP = ("How many frames per second to extract from the src video. Fewer frames (e.g. 10) "
            "give a smaller face set with less near-duplicates; skip keeps every frame.")
IMAGE_FORMAT_HELP = "png is lossless but larger and slower; jpg (quality 2) is smaller."


def _time(text: str) -> float:
    from app.video.timecode import parse_time
    return parse_time(text)


def _bitrate(text: str) -> str:
    from app.video.cut import parse_bitrate
    return parse_bitrate(text)


def _result_formats() -> tuple[str, ...]:
    from app.video.assemble import FORMATS
    return tuple(FORMATS)


def _result_formats_help() -> str:
    from app.video.assemble import FORMATS
    return "\n".join(f"  {k}: {v.help}" for k, v in FORMATS.items())


def _lossy(chosen: dict) -> bool:
    from app.video.assemble import FORMATS
    return not FORMATS[chosen["format"]].lossless


EXTRACT_VIDEO_OPTIONS = (
    Option("fps", "Enter FPS", None, "float", lo=0, help=FPS_HELP, skip="fullfps",
           when=lambda c: c.get("side") == "src",
           flag_help="src: frames per second to keep (default: every frame); dst: always all"),
    Option("format", "Output image format", "png", "choice", choices=FRAME_FORMATS,
           help=IMAGE_FORMAT_HELP, flag_help="frame image format"),
)

CUT_OPTIONS = (
    Option("start", "From time", 0.0, "text", parse=_time, flag="--from",
           help="Start of the cut, HH:MM:SS.mmm.", skip="beginning of the video",
           flag_help="start, HH:MM:SS.mmm or seconds (default: the beginning)"),
    Option("end", "To time", None, "text", parse=_time, flag="--to",
           help="End of the cut, HH:MM:SS.mmm.", skip="end of the video",
           flag_help="end, HH:MM:SS.mmm or seconds (default: the end)"),
    Option("audio_track", "Specify audio track id", 0, "int", lo=0,
           help="Which audio stream to keep, by id (see the list above).",
           when=lambda c: c.get("audio_tracks", 1) > 1, flag_help="audio track id (default 0)"),
    Option("bitrate", "Bitrate of output file in MB/s", "25M", "text", parse=_bitrate,
           help="Video bitrate of the cut; higher keeps more detail.",
           flag_help="video bitrate, MB/s: 25 or 25M (default 25M)"),
)

DENOISE_OPTIONS = (
    Option("factor", "Denoise factor", 5, "int", 1, 20,
           help="1..20: how strongly to smooth noise; edges stay sharp. Higher values also "
                "smooth skin detail.", flag_help="strength 1..20 (default 5)"),
)

ASSEMBLE_OPTIONS = (
    Option("fps", "FPS of the result", 25.0, "float", lo=0.001,
           when=lambda c: not c.get("has_dst"),
           flag_help="frame rate of the result (default: the dst video's, else asked)"),
    Option("format", "Output format", "mp4", "choice", choices=_result_formats,
           help=_result_formats_help, flag_help="result format"),
    Option("bitrate", "Bitrate of output file in MB/s", "16M", "text", parse=_bitrate,
           help="Video bitrate of the result; higher keeps more detail.", when=_lossy,
           flag_help="video bitrate, MB/s (default 16M)"),
)
