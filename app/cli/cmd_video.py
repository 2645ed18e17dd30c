"""`python -m app video ...`: steps 2, 3 and 8 (extract, cut, denoise, assemble) and `info`.

Values not given as flags are asked in DeepFaceLab's words when run from a terminal, else the
default is taken. The work itself lives in `app.video` (imported inside each command, so the
CLI starts fast); it never asks anything.
"""

from __future__ import annotations

import argparse
import os

from app.cli.ask import ask_bool, interactive
from app.cli.option_table import add_flags, ask_table, given_values
from app.video.options import ASSEMBLE_OPTIONS, CUT_OPTIONS, DENOISE_OPTIONS, \
    EXTRACT_VIDEO_OPTIONS
from app.workspace import SIDES


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
    add_flags(e, EXTRACT_VIDEO_OPTIONS)  # --fps, --format
    e.add_argument("--input", metavar="VIDEO", default=None,
                   help="video to extract (default: the workspace's data_<side>.*)")
    e.add_argument("--overwrite", action="store_true",
                   help="replace frames already there without asking (aligned/ is kept)")
    e.set_defaults(run=run_extract, on_interrupt=START_OVER)

    c = vsub.add_parser("cut", parents=[common],
                        help="3) cut a time range into NAME_cut.EXT, keeping the original")
    c.add_argument("file", nargs="?", default=None,
                   help="video to cut (default: the workspace's data_dst.*)")
    add_flags(c, CUT_OPTIONS)  # --from, --to, --audio-track, --bitrate
    c.add_argument("--output", metavar="PATH", default=None, help="default: NAME_cut.EXT")
    c.set_defaults(run=run_cut, on_interrupt=START_OVER)

    d = vsub.add_parser("denoise", parents=[common],
                        help="3) denoise the extracted dst frames in place (ffmpeg hqdn3d)")
    d.add_argument("side", nargs="?", choices=SIDES, default="dst")
    add_flags(d, DENOISE_OPTIONS)  # --factor
    d.set_defaults(run=run_denoise, on_interrupt=START_OVER)

    a = vsub.add_parser("assemble", parents=[common],
                        help="8) data_dst/merged frames -> result.* with the dst audio")
    add_flags(a, ASSEMBLE_OPTIONS)  # --fps, --format, --bitrate
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


def run_extract(args) -> int:
    from pathlib import Path

    from app.errors import UserError
    from app.video.ffmpeg import probe
    from app.video.frames import extract_frames, list_frames

    ws = _setup(args)
    video = Path(args.input) if args.input else ws.video(args.side)
    info = probe(video)
    print(_describe(info))
    if args.side == "dst" and args.fps:
        raise UserError("dst frames are always extracted at full FPS (merge needs every "
                        "frame): drop --fps")
    answers = ask_table(EXTRACT_VIDEO_OPTIONS, given_values(args, EXTRACT_VIDEO_OPTIONS),
                        context={"side": args.side})
    fps = answers.get("fps") or None  # 0 = every frame, as in DeepFaceLab
    fmt = answers["format"]
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

    from dataclasses import replace

    from app.video.cut import cut

    from app.video.ffmpeg import probe
    from app.video.cut import check_range
    from app.video.timecode import format_time

    ws = _setup(args)
    video = Path(args.file) if args.file else ws.video("dst")
    info = probe(video)
    print(_describe(info))
    tracks = len(info.audio_streams)
    # the audio track question's range is this video's: the table narrowed to it
    spec = tuple(replace(o, hi=max(0, tracks - 1)) if o.key == "audio_track" else o
                 for o in CUT_OPTIONS)
    answers = ask_table(spec, given_values(args, spec), context={"audio_tracks": tracks})
    start, end = answers["start"], check_range(info, answers["start"], answers["end"])
    track = answers.get("audio_track", args.audio_track or 0)
    out = cut(video, start, end, track, answers["bitrate"], args.output)
    print(f"cut {format_time(start)} -> {format_time(end)} written to {out}")
    return 0


def run_denoise(args) -> int:
    from app.video.denoise import denoise_frames

    ws = _setup(args)
    factor = ask_table(DENOISE_OPTIONS, given_values(args, DENOISE_OPTIONS))["factor"]
    n = denoise_frames(ws.frames_dir(args.side), factor)
    print(f"{n} frames denoised in place in {ws.frames_dir(args.side)}")
    return 0


def run_assemble(args) -> int:
    from pathlib import Path

    from app.errors import UserError
    from app.video.assemble import FORMATS, assemble, result_path
    from app.video.ffmpeg import probe
    from app.video.assemble import MERGE_AGAIN
    from app.video.frames import read_whole_sequence

    ws = _setup(args)
    frames = Path(args.frames) if args.frames else ws.merged_dir
    read_whole_sequence(frames, "merged frames", MERGE_AGAIN)  # fail before any question
    try:
        dst = ws.video("dst")
    except UserError:
        dst = None
    if dst is None:
        print("no data_dst video in the workspace: the result has no audio")
    answers = ask_table(ASSEMBLE_OPTIONS, given_values(args, ASSEMBLE_OPTIONS),
                        context={"has_dst": dst is not None})
    # with a dst video the result takes its exact rate unless --fps says otherwise
    fps = answers.get("fps") or args.fps or probe(dst).fps_exact
    fmt = answers["format"]
    bitrate = answers.get("bitrate", "16M")
    out = Path(args.output) if args.output else result_path(ws.root, fmt)
    if out.suffix.lower() != FORMATS[fmt].ext:
        raise UserError(f"the {fmt} format writes {FORMATS[fmt].ext} files", out)
    written = assemble(frames, out, fps, audio_from=dst, fmt=fmt, bitrate=bitrate,
                       audio_track=args.audio_track)
    print(f"result written to {written}")
    return 0


def run_info(args) -> int:
    from app.video.ffmpeg import probe

    _setup(args)
    info = probe(args.file)
    print(_describe(info))
    for key, value in info.tags.items():
        print(f"  {key}: {value}")
    return 0
