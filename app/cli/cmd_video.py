"""`python -m app video ...`: steps 2, 3 and 8 (extract, cut, denoise, assemble) and `info`.

Values not given as flags are asked in DeepFaceLab's words when run from a terminal, else the
default is taken. The work itself lives in `app.video` (imported inside each command, so the
CLI starts fast); it never asks anything.
"""

from __future__ import annotations

import argparse
import os

from app.cli.ask import ask, ask_bool, ask_choice, ask_float, ask_int, interactive, number
from app.cli.choices import Lazy
from app.frame_files import FRAME_FORMATS
from app.workspace import SIDES

FPS_HELP = ("How many frames per second to extract from the src video. Fewer frames (e.g. 10) "
            "give a smaller face set with less near-duplicates; skip keeps every frame.")
IMAGE_FORMAT_HELP = "png is lossless but larger and slower; jpg (quality 2) is smaller."


#: what Ctrl+C means for the all-or-nothing video steps (output written under a temporary name,
#: put in place only when complete): no resume, and nothing changed
START_OVER = ("interrupted: nothing was changed (the output replaces the old one only when "
              "complete); run the same command again to start over.")

def register(sub) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--ffmpeg", metavar="PATH", default=None,
                        help="ffmpeg to use: a path, or 'system' for the one on PATH "
                             "(default: $FACESTUDIO_FFMPEG, else the bundled imageio-ffmpeg)")
    p = sub.add_parser("video", help="2, 3, 8) extract frames, cut, denoise, assemble result")
    vsub = p.add_subparsers(dest="action", metavar="ACTION")
    vsub.required = True

    e = vsub.add_parser("extract", parents=[common],
                        help="2, 3) frames of data_src.* / data_dst.* into data_src/ or data_dst/")
    e.add_argument("side", choices=SIDES)
    e.add_argument("--fps", type=number, default=None,
                   help="src only: frames per second to keep (default: every frame)")
    e.add_argument("--format", choices=FRAME_FORMATS, default=None, help="frame image format")
    e.add_argument("--input", metavar="VIDEO", default=None,
                   help="video to extract (default: the workspace's data_<side>.*)")
    e.add_argument("--overwrite", action="store_true",
                   help="replace frames already there without asking (aligned/ is kept)")
    e.set_defaults(run=run_extract, on_interrupt=START_OVER)

    c = vsub.add_parser("cut", parents=[common],
                        help="3) cut a time range into NAME_cut.EXT, keeping the original")
    c.add_argument("file", nargs="?", default=None,
                   help="video to cut (default: the workspace's data_dst.*)")
    c.add_argument("--from", dest="start", metavar="TIME", default=None,
                   help="start time, 00:00:00.000 (default: the beginning)")
    c.add_argument("--to", dest="end", metavar="TIME", default=None,
                   help="end time, 00:00:00.000 (default: the end)")
    c.add_argument("--audio-track", type=int, default=None, help="audio track id (default 0)")
    c.add_argument("--bitrate", default=None, help="video bitrate, MB/s: 25 or 25M (default 25M)")
    c.add_argument("--output", metavar="PATH", default=None, help="default: NAME_cut.EXT")
    c.set_defaults(run=run_cut, on_interrupt=START_OVER)

    d = vsub.add_parser("denoise", parents=[common],
                        help="3) denoise the extracted dst frames in place (ffmpeg hqdn3d)")
    d.add_argument("side", nargs="?", choices=SIDES, default="dst")
    d.add_argument("--factor", type=int, default=None, help="strength 1..20 (default 5)")
    d.set_defaults(run=run_denoise, on_interrupt=START_OVER)

    a = vsub.add_parser("assemble", parents=[common],
                        help="8) data_dst/merged frames -> result.* with the dst audio")
    a.add_argument("--format", choices=Lazy(_output_formats), default=None, metavar="FORMAT",
                   help="%(choices)s (app.video.FORMATS; the alpha ones are lossless)")
    a.add_argument("--bitrate", default=None, help="video bitrate, MB/s (default 16M)")
    a.add_argument("--fps", type=number, default=None,
                   help="frame rate (default: the dst video's)")
    a.add_argument("--audio-track", type=int, default=0, help="dst audio track id (default 0)")
    a.add_argument("--frames", metavar="DIR", default=None,
                   help="frames to assemble (default: data_dst/merged)")
    a.add_argument("--output", metavar="PATH", default=None,
                   help="default: <workspace>/result.<ext>")
    a.set_defaults(run=run_assemble, on_interrupt=START_OVER)

    i = vsub.add_parser("info", parents=[common], help="what ffmpeg sees in a video")
    i.add_argument("file")
    i.set_defaults(run=run_info)


def _setup(args):
    """Apply --ffmpeg and return the workspace."""
    from app.workspace import Workspace

    if getattr(args, "ffmpeg", None):
        os.environ["FACESTUDIO_FFMPEG"] = args.ffmpeg
    return Workspace.resolve(args.workspace)


def _describe(info) -> str:
    from app.video.timecode import format_time

    dur = format_time(info.duration) if info.duration is not None else "unknown"
    audio = ", ".join(f"#{a.audio_index} {a.codec} {a.sample_rate or '?'} Hz "
                      f"{a.channels or '?'} ch" + (f" ({a.language})" if a.language else "")
                      for a in info.audio_streams) or "none"
    return (f"{info.path.name}: {info.width}x{info.height} {info.video_codec} {info.pix_fmt}, "
            f"{info.fps:g} fps, {dur}, about {info.frame_count_estimate} frames; audio: {audio}")


def _output_formats() -> tuple[str, ...]:
    """The result formats (app.video.FORMATS), read when argparse checks or lists them."""
    from app.video import FORMATS
    return tuple(FORMATS)


def run_extract(args) -> int:
    from pathlib import Path

    from app.errors import UserError
    from app.video import extract_frames, list_frames, probe

    ws = _setup(args)
    video = Path(args.input) if args.input else ws.video(args.side)
    info = probe(video)
    print(_describe(info))
    if args.side == "dst" and args.fps:
        raise UserError("dst frames are always extracted at full FPS (merge needs every "
                        "frame): drop --fps")
    fps = None
    if args.side == "src":
        fps = ask_float("Enter FPS", None, lo=0, help_text=FPS_HELP, given=args.fps,
                        skip="fullfps") or None  # 0 = every frame, as in DeepFaceLab
    fmt = ask_choice("Output image format", "png", FRAME_FORMATS, IMAGE_FORMAT_HELP,
                     given=args.format)
    out = ws.frames_dir(args.side)
    old = len(list_frames(out))
    if old and not args.overwrite:
        if not interactive():
            raise UserError(f"already holds {old} frames; nothing was changed. Run with "
                            "--overwrite to replace them (aligned faces are kept)", out)
        if not ask_bool(f"{out} holds {old} frames. Replace them? (aligned/ is kept)", True):
            print("Nothing changed.")
            return 1
    n = extract_frames(video, out, fps=fps, ext=fmt)
    print(f"{n} frames -> {out}")
    return 0


def run_cut(args) -> int:
    from pathlib import Path

    from app.video import cut, parse_bitrate, probe
    from app.video.cut import check_range
    from app.video.timecode import format_time, parse_time

    ws = _setup(args)
    video = Path(args.file) if args.file else ws.video("dst")
    info = probe(video)
    print(_describe(info))
    start = ask("From time", 0.0, parse_time, "Start of the cut, HH:MM:SS.mmm.",
                _time_flag(args.start, "--from"), skip="beginning of the video")
    end = ask("To time", None, parse_time, "End of the cut, HH:MM:SS.mmm.",
              _time_flag(args.end, "--to"), skip="end of the video")
    end = check_range(info, start, end)
    track = args.audio_track
    if track is None and len(info.audio_streams) > 1:
        track = ask_int("Specify audio track id", 0, 0, len(info.audio_streams) - 1,
                        "Which audio stream to keep, by id (see the list above).")
    bitrate = ask("Bitrate of output file in MB/s", "25M", parse_bitrate,
                  "Video bitrate of the cut; higher keeps more detail.",
                  _bitrate_flag(args.bitrate))
    out = cut(video, start, end, track or 0, bitrate, args.output)
    print(f"cut {format_time(start)} -> {format_time(end)} written to {out}")
    return 0


def run_denoise(args) -> int:
    from app.video import denoise_frames

    ws = _setup(args)
    factor = ask_int("Denoise factor", 5, 1, 20,
                     "1..20: how strongly to smooth noise; edges stay sharp. Higher values "
                     "also smooth skin detail.", given=args.factor)
    if not 1 <= factor <= 20:
        from app.errors import UserError
        raise UserError(f"--factor {factor} is outside 1..20")
    n = denoise_frames(ws.frames_dir(args.side), factor)
    print(f"{n} frames denoised in place in {ws.frames_dir(args.side)}")
    return 0


def run_assemble(args) -> int:
    from pathlib import Path

    from app.errors import UserError
    from app.video import FORMATS, assemble, parse_bitrate, probe, result_path
    from app.video.assemble import MERGE_AGAIN
    from app.video.frames import read_whole_sequence

    ws = _setup(args)
    frames = Path(args.frames) if args.frames else ws.merged_dir
    read_whole_sequence(frames, "merged frames", MERGE_AGAIN)  # fail before any question
    try:
        dst = ws.video("dst")
    except UserError:
        dst = None
    fps: float | str | None = args.fps
    if dst is not None:
        info = probe(dst)
        fps = fps or info.fps_exact
    else:
        print("no data_dst video in the workspace: the result has no audio")
        fps = ask_float("FPS of the result", 25.0, lo=0.001, given=args.fps)
    help_fmt = "\n".join(f"  {k}: {v.help}" for k, v in FORMATS.items())
    fmt = ask_choice("Output format", "mp4", tuple(FORMATS), help_fmt, given=args.format)
    bitrate = "16M"
    if not FORMATS[fmt].lossless:
        bitrate = ask("Bitrate of output file in MB/s", "16M", parse_bitrate,
                      "Video bitrate of the result; higher keeps more detail.",
                      _bitrate_flag(args.bitrate))
    out = Path(args.output) if args.output else result_path(ws.root, fmt)
    if out.suffix.lower() != FORMATS[fmt].ext:
        raise UserError(f"the {fmt} format writes {FORMATS[fmt].ext} files", out)
    written = assemble(frames, out, fps, audio_from=dst, fmt=fmt, bitrate=bitrate,
                       audio_track=args.audio_track)
    print(f"result written to {written}")
    return 0


def run_info(args) -> int:
    from app.video import probe

    _setup(args)
    info = probe(args.file)
    print(_describe(info))
    for key, value in info.tags.items():
        print(f"  {key}: {value}")
    return 0


def _time_flag(text: str | None, flag: str) -> float | None:
    from app.video.timecode import parse_time

    return _parsed_flag(text, flag, parse_time)


def _bitrate_flag(text: str | None) -> str | None:
    from app.video import parse_bitrate

    return _parsed_flag(text, "--bitrate", parse_bitrate)


def _parsed_flag(text: str | None, flag: str, parse):
    """A flag's value through the same parser the question uses; a bad value is a UserError."""
    from app.errors import UserError

    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise UserError(f"{flag} {text!r}: {exc}") from None
