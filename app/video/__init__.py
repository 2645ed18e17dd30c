"""Video steps on a real ffmpeg: extract frames (2, 3), cut and denoise (3), assemble (8).

The public functions other parts call; each takes plain arguments and never asks questions.
"""

from app.video.assemble import FORMATS, assemble, result_path
from app.video.cut import cut, parse_bitrate
from app.video.denoise import denoise_frames
from app.video.ffmpeg import VideoInfo, count_frames, ffmpeg_exe, probe
from app.video.frames import extract_frames, list_frames, read_sequence

__all__ = ["FORMATS", "VideoInfo", "assemble", "count_frames", "cut", "denoise_frames",
           "extract_frames", "ffmpeg_exe", "list_frames", "parse_bitrate", "probe",
           "read_sequence", "result_path"]
