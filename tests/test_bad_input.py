"""Bad input across every step, as a user meets it: one table, one real subprocess per row.

Each row builds a broken situation under a temporary folder and runs `python -m app ...` with
`--workspace` and stdin closed. A row that must fail has to exit 2 with exactly one `error:`
line on stderr that names the file (or flag) and contains the row's words, print no traceback,
and leave every file that existed before unchanged. Rows marked `works` (unicode and space
paths, frames with foreign metadata) must succeed.

Read-only folders are read-only bind mounts and full disks are tiny tmpfs mounts (we run as
root, for whom chmod does not stop writes); rows needing them skip where mounting is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from test_fault_helpers import (MEDIA, Mounts, app15_face_segment, insert_after_soi,
                                jpeg_segment, lost_files, plain_jpeg, run_app, snapshot)

FRAMES = MEDIA / "merge" / "dst"                  # 8 GRID frames with one face each
FACES = sorted((MEDIA / "merge" / "dst" / "aligned").glob("*.jpg"))
VIDEO = MEDIA / "group3.mp4"                      # h264, moov atom first, 3 s
VIDEO_MOOV_LAST = MEDIA / "codecs" / "h264_aac.mp4"
UNICODE = "wö rk späce 日本"
FAST = ["--detector", "fast", "--face-type", "full", "--size", "128", "--workers", "1"]


@dataclass
class Ctx:
    tmp: Path
    ws: Path
    mounts: Mounts
    model: Path | None = None       # a saved SAE model folder (made once per module)


@dataclass
class Row:
    id: str
    setup: Callable[[Ctx], list]            # builds the situation, returns argv after --workspace
    says: tuple = ()                        # words the error line (or output, if works) holds
    works: bool = False                     # must succeed instead of failing cleanly
    check: Callable[[Ctx], None] | None = None  # more checks after a row that works
    marks: list = field(default_factory=list)
    redone: tuple = ()                      # files (under tmp) the row must replace
    env: dict = field(default_factory=dict)  # environment changes for the run


# ---------------------------------------------------------------- building blocks

def frames(folder: Path, n: int = 3, start: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shutil.copy(FRAMES / f"{start + i:05d}.jpg", folder / f"{start + i:05d}.jpg")
    return folder


def video(c: Ctx, data: bytes | None = None, name: str = "data_dst.mp4") -> Path:
    c.ws.mkdir(parents=True, exist_ok=True)
    path = c.ws / name
    path.write_bytes(VIDEO.read_bytes() if data is None else data)
    return path


def face_with(c: Ctx, *segments: bytes, name: str = "face.jpg") -> Path:
    """A JPEG with the pixels of a real aligned face and only the given extra segments."""
    c.tmp.mkdir(parents=True, exist_ok=True)
    path = c.tmp / name
    path.write_bytes(insert_after_soi(plain_jpeg(FACES[0]), *segments))
    return path


def doc(version=1, fmt="facestudio-face", meta: dict | None = None) -> bytes:
    """Our metadata document around a real face's metadata."""
    from app.faceset.face_file import read_meta
    body = read_meta(FACES[0]).to_dict() if meta is None else meta
    return json.dumps({"format": fmt, "version": version, "meta": body}).encode()


def existing_aligned(c: Ctx, side: str = "dst") -> None:
    """Faces from an earlier run: work that a failing command must keep."""
    aligned = c.ws / f"data_{side}" / "aligned"
    aligned.mkdir(parents=True, exist_ok=True)
    for f in FACES[:2]:
        shutil.copy(f, aligned / f.name)


# ---------------------------------------------------------------- rows: workspace and video

def r_ws_missing(c):
    return ["video", "extract", "src", "--fps", "0"]


def r_ws_no_videos(c):
    c.ws.mkdir()
    return ["video", "extract", "dst"]


def r_text_as_mp4(c):
    video(c, b"I am a text file, renamed to .mp4\n")
    return ["video", "extract", "dst"]


def r_empty_mp4(c):
    video(c, b"")
    return ["video", "extract", "dst"]


def r_truncated_moov_last(c):
    video(c, VIDEO_MOOV_LAST.read_bytes()[:70_000])
    return ["video", "extract", "dst"]


def r_truncated_keeps_frames(c):
    video(c, VIDEO.read_bytes()[:20_000])
    frames(c.ws / "data_dst")
    existing_aligned(c)
    return ["video", "extract", "dst", "--overwrite", "--format", "jpg"]


def r_dst_with_fps(c):
    video(c)
    return ["video", "extract", "dst", "--fps", "5"]


def r_frames_there_no_overwrite(c):
    video(c)
    frames(c.ws / "data_dst")
    return ["video", "extract", "dst"]


def r_fps_negative(c):
    video(c, name="data_src.mp4")
    return ["video", "extract", "src", "--fps", "-1"]


def r_fps_text(c):
    video(c, name="data_src.mp4")
    return ["video", "extract", "src", "--fps", "ten"]


def r_cut_outside(c):
    return ["video", "cut", video(c), "--from", "00:00:10.000", "--to", "00:00:12.000"]


def r_cut_backwards(c):
    return ["video", "cut", video(c), "--from", "00:00:02.000", "--to", "00:00:01.000"]


def r_cut_bad_time(c):
    return ["video", "cut", video(c), "--from", "1:xx"]


def r_cut_bad_bitrate(c):
    return ["video", "cut", video(c), "--bitrate", "-5"]


def r_cut_no_track(c):
    return ["video", "cut", video(c), "--audio-track", "7"]


def r_cut_missing(c):
    c.ws.mkdir()
    return ["video", "cut", c.ws / "nothere.mp4"]


def r_cut_readonly(c):
    path = video(c)
    c.mounts.readonly(c.ws)
    return ["video", "cut", path, "--from", "00:00:00.500", "--to", "00:00:01.000"]


def r_denoise_factor(c):
    frames(c.ws / "data_dst")
    return ["video", "denoise", "--factor", "50"]


def r_denoise_empty(c):
    (c.ws / "data_dst").mkdir(parents=True)
    return ["video", "denoise", "--factor", "5"]


def r_denoise_readonly(c):
    frames(c.ws / "data_dst")
    c.mounts.readonly(c.ws / "data_dst")
    return ["video", "denoise", "--factor", "5"]


def r_assemble_nothing(c):
    c.ws.mkdir()
    return ["video", "assemble", "--fps", "25", "--format", "mp4"]


def r_assemble_gap(c):
    merged = c.ws / "data_dst" / "merged"
    frames(merged, 1, 1)
    frames(merged, 1, 3)
    return ["video", "assemble", "--fps", "25", "--format", "mp4"]


def r_assemble_suffix(c):
    frames(c.ws / "data_dst" / "merged")
    return ["video", "assemble", "--fps", "25", "--format", "avi", "--output", c.ws / "r.mp4"]


def r_assemble_readonly(c):
    frames(c.ws / "data_dst" / "merged")
    c.mounts.readonly(c.ws)
    return ["video", "assemble", "--fps", "25", "--format", "mp4"]


def r_assemble_full_disk(c):
    frames(c.ws / "data_dst" / "merged", 8)
    out = c.tmp / "full"
    c.mounts.tiny_disk(out, 64)
    c.mounts.fill(out)
    return ["video", "assemble", "--fps", "25", "--format", "mp4", "--output",
            out / "result.mp4"]


def r_video_extract_full_disk(c):
    video(c)
    c.mounts.tiny_disk(c.ws / "data_dst", 200)
    frames(c.ws / "data_dst", 2)
    c.mounts.fill(c.ws / "data_dst")
    return ["video", "extract", "dst", "--overwrite", "--format", "png"]


def r_video_info_text(c):
    c.ws.mkdir()
    (c.ws / "notes.mp4").write_text("not a video")
    return ["video", "info", c.ws / "notes.mp4"]


def r_ws_empty_flag(c):
    """Used to fall back to ./workspace beside the app (read-only here: the old behaviour must
    not touch the repository's sample workspace)."""
    c.ws = None
    return ["--workspace", "", "faceset", "info", "src"]


def r_ws_is_a_file(c):
    c.tmp.mkdir(exist_ok=True)
    c.ws = c.tmp / "notes.txt"
    c.ws.write_text("my notes, not a workspace")
    return ["video", "extract", "src"]


def r_data_src_is_a_file_clear(c):
    existing_aligned(c, "dst")
    (c.ws / "data_src").write_bytes(VIDEO.read_bytes())     # the video, without its extension
    return ["workspace", "clear", "--yes"]


def r_data_src_is_a_file_extract(c):
    video(c, name="data_src.mp4")
    (c.ws / "data_src").write_text("a file where the frames folder belongs")
    return ["video", "extract", "src", "--fps", "0"]


def r_model_dir_is_a_file(c):
    face_sets(c)
    (c.tmp / "model.txt").write_text("not a folder")
    return ["train", "SAE", "--model-dir", c.tmp / "model.txt", *small_sae(), *TRAIN]


def r_result_is_a_folder(c):
    frames(c.ws / "data_dst" / "merged")
    (c.ws / "result.mp4").mkdir()
    return ["video", "assemble", "--fps", "25", "--format", "mp4"]


def r_output_flag_is_a_folder(c):
    frames(c.ws / "data_dst" / "merged")
    (c.tmp / "out.mp4").mkdir()
    return ["video", "assemble", "--fps", "25", "--format", "mp4", "--output", c.tmp / "out.mp4"]


# ---------------------------------------------------------------- rows: face extraction

def r_extract_no_frames_folder(c):
    c.ws.mkdir()
    return ["extract", "src", *FAST]


def r_extract_empty_frames(c):
    (c.ws / "data_src").mkdir(parents=True)
    return ["extract", "src", *FAST]


def r_extract_frames_flag_missing(c):
    c.ws.mkdir()
    return ["extract", "dst", "--frames", c.tmp / "no frames here", *FAST]


def r_extract_size_zero(c):
    frames(c.ws / "data_src")
    return ["extract", "src", "--detector", "fast", "--face-type", "full", "--size", "0"]


def r_extract_size_text(c):
    frames(c.ws / "data_src")
    return ["extract", "src", "--size", "big"]


def r_extract_bad_detector(c):
    frames(c.ws / "data_src")
    return ["extract", "src", "--detector", "yolo"]


def r_extract_readonly(c):
    frames(c.ws / "data_dst", 3)
    existing_aligned(c)  # frames 1 and 2 are done; frame 3 needs writing
    c.mounts.readonly(c.ws / "data_dst")
    return ["extract", "dst", "--detector", "fast", "--face-type", "full", "--size", "256",
            "--workers", "1"]


def r_extract_full_disk(c):
    c.mounts.tiny_disk(c.ws / "data_dst", 160)
    frames(c.ws / "data_dst", 2)
    c.mounts.fill(c.ws / "data_dst")
    return ["extract", "dst", *FAST]


def r_extract_corrupt_frame(c):
    folder = frames(c.ws / "data_src", 2)
    good = (FRAMES / "00003.jpg").read_bytes()
    (folder / "00003.jpg").write_bytes(good[: len(good) // 3])
    (folder / "00004.jpg").write_text("a text file named like a frame")
    return ["extract", "src", *FAST]


def check_two_faces_written(c):
    names = sorted(p.name for p in (c.ws / "data_src" / "aligned").glob("*.jpg"))
    assert names == ["00001_0.jpg", "00002_0.jpg"], names


def r_extract_foreign_metadata_frames(c):
    """Frames carrying EXIF-like junk, a foreign APP15 and a damaged face segment still work."""
    folder = c.ws / "data_src"
    folder.mkdir(parents=True)
    junk = [jpeg_segment(0xE1, b"Exif\0\0" + bytes(range(256)) * 4),
            jpeg_segment(0xEF, b"Ducky\0" + b"\x01" * 40),
            app15_face_segment(b'{"format": "facestudio-face", "vers')]
    for i, seg in enumerate(junk, 1):
        data = insert_after_soi((FRAMES / f"{i:05d}.jpg").read_bytes(), seg)
        (folder / f"{i:05d}.jpg").write_bytes(data)
    return ["extract", "src", *FAST]


def check_three_faces_written(c):
    from app.faceset.face_file import read_meta
    faces = sorted((c.ws / "data_src" / "aligned").glob("*.jpg"))
    assert [p.name for p in faces] == ["00001_0.jpg", "00002_0.jpg", "00003_0.jpg"]
    assert [read_meta(p).source_filename for p in faces] == ["00001.jpg", "00002.jpg",
                                                             "00003.jpg"]


def r_extract_resume_after_new_video(c):
    """Faces extracted from frames 1-3, then another video's frames extracted over them (frames
    1 and 2 now show what 5 and 6 showed): those two are redone, frame 3 is kept."""
    from app.extract.pipeline import ExtractOptions, extract_folder
    folder = frames(c.ws / "data_src", 3)
    extract_folder(folder, folder / "aligned", None,
                   ExtractOptions(face_type="full", size=128, workers=1), progress=False)
    for new, old in ((1, 5), (2, 6)):
        shutil.copy(FRAMES / f"{old:05d}.jpg", folder / f"{new:05d}.jpg")
    return ["extract", "src", *FAST]


def check_faces_follow_the_new_frames(c):
    from app.extract.frame_digest import frame_digest
    from app.faceset.face_file import read_meta
    side = c.ws / "data_src"
    for i in (1, 2, 3):
        meta = read_meta(side / "aligned" / f"{i:05d}_0.jpg")
        assert meta.source_digest == frame_digest(side / f"{i:05d}.jpg")
    for i, old in ((1, 1), (2, 2)):   # the old faces are set aside, not lost
        meta = read_meta(side / "aligned_outdated" / f"{i:05d}_0.jpg")
        assert meta.source_digest == frame_digest(FRAMES / f"{old:05d}.jpg")


# ---------------------------------------------------------------- rows: aligned-face files

def info(path) -> list:
    return ["faceset", "info", path]


def r_info_truncated(c):
    c.tmp.mkdir(exist_ok=True)
    data = FACES[0].read_bytes()
    (c.tmp / "cut.jpg").write_bytes(data[:200])
    return info(c.tmp / "cut.jpg")


def r_info_plain_jpg(c):
    return info(face_with(c))


def r_info_foreign_app15(c):
    return info(face_with(c, jpeg_segment(0xEF, b"Adobe_CM\0" + b"\x07" * 30)))


def r_info_damaged_json(c):
    return info(face_with(c, app15_face_segment(b'{"format": "facestudio-face", "vers')))


def r_info_newer_version(c):
    return info(face_with(c, app15_face_segment(doc(version=99))))


def r_info_other_format(c):
    return info(face_with(c, app15_face_segment(doc(fmt="dfl-pickle"))))


def r_info_bad_landmarks(c):
    from app.faceset.face_file import read_meta
    meta = read_meta(FACES[0]).to_dict()
    meta["landmarks"] = meta["landmarks"][:5]
    return info(face_with(c, app15_face_segment(doc(meta=meta))))


def r_info_deep_extra(c):
    """Found by fuzzing: parsed fine, then to_dict() overflowed the recursion (traceback)."""
    from app.faceset.face_file import read_meta
    meta = read_meta(FACES[0]).to_dict()
    meta["extra"] = {"x": 1}
    deep = "[" * 600 + "]" * 600
    text = doc(meta=meta).decode().replace('{"x": 1}', '{"x": ' + deep + "}")
    return ["faceset", "info", "--json", face_with(c, app15_face_segment(text.encode()))]


def r_info_missing_part(c):
    return info(face_with(c, app15_face_segment(doc()[:100], 0, 2)))


def r_info_png_damaged_chunk(c):
    import cv2
    ok, buf = cv2.imencode(".png", cv2.imread(str(FACES[0])))
    data = buf.tobytes()
    body = b"facestudio\0\x01\x00\0\0" + b"not zlib at all"
    chunk = (len(body).to_bytes(4, "big") + b"iTXt" + body
             + (zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF).to_bytes(4, "big"))
    c.tmp.mkdir(exist_ok=True)
    (c.tmp / "face.png").write_bytes(data[:33] + chunk + data[33:])
    return info(c.tmp / "face.png")


def r_info_text_as_jpg(c):
    c.tmp.mkdir(exist_ok=True)
    (c.tmp / "face.jpg").write_text("hello")
    return info(c.tmp / "face.jpg")


def r_info_missing(c):
    return info(c.tmp / "nowhere" / "face.jpg")


def r_info_one_bad_in_folder(c):
    folder = c.tmp / "set"
    folder.mkdir()
    for f in FACES[:2]:
        shutil.copy(f, folder / f.name)
    (folder / "zz_bad.jpg").write_bytes(FACES[2].read_bytes()[:300])
    return info(folder)


def r_sort_missing_dir(c):
    return ["faceset", "sort", "--dir", c.tmp / "no set", "--by", "blur"]


def r_sort_final_zero(c):
    existing_aligned(c, "src")
    return ["faceset", "sort", "src", "--by", "final", "--final-count", "0"]


def r_sort_readonly(c):
    existing_aligned(c, "src")
    c.mounts.readonly(c.ws / "data_src" / "aligned")
    return ["faceset", "sort", "src", "--by", "blur"]


def r_clear_readonly(c):
    existing_aligned(c, "dst")
    c.mounts.readonly(c.ws)
    return ["workspace", "clear", "--yes"]


# ---------------------------------------------------------------- rows: training

TRAIN_SETS = MEDIA / "train"
SMALL_SAE = {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21, "d_ch_dims": 11}
TRAIN = ["--no-window", "--batch-size", "2", "--seed", "1"]


def face_sets(c: Ctx) -> None:
    shutil.copytree(TRAIN_SETS / "src", c.ws / "data_src" / "aligned")
    shutil.copytree(TRAIN_SETS / "dst", c.ws / "data_dst" / "aligned")


def with_model(c: Ctx) -> Path:
    """The saved model, hard-linked into the workspace (atomic saves never write in place)."""
    shutil.copytree(c.model, c.ws / "model", copy_function=os.link)
    return c.ws / "model"


def small_sae() -> list:
    return [x for k, v in SMALL_SAE.items() for x in ("--option", f"{k}={v}")]


def r_train_unknown_model(c):
    face_sets(c)
    return ["train", "XYZ", *TRAIN]


def r_train_no_face_sets(c):
    c.ws.mkdir()
    return ["train", "SAE", *small_sae(), *TRAIN]


def r_train_empty_face_set(c):
    face_sets(c)
    shutil.rmtree(c.ws / "data_dst" / "aligned")
    (c.ws / "data_dst" / "aligned").mkdir()
    return ["train", "SAE", *small_sae(), *TRAIN]


def r_train_set_of_bad_faces(c):
    """Frames (no face metadata) and a damaged file where the aligned src faces should be."""
    face_sets(c)
    shutil.rmtree(c.ws / "data_src" / "aligned")
    frames(c.ws / "data_src" / "aligned", 2)
    (c.ws / "data_src" / "aligned" / "00009.jpg").write_bytes(FACES[0].read_bytes()[:400])
    return ["train", "SAE", *small_sae(), *TRAIN]


def r_train_option_range(c):
    face_sets(c)
    return ["train", "SAE", "--option", "resolution=50", *TRAIN]


def r_train_option_text(c):
    face_sets(c)
    return ["train", "SAE", "--option", "ae_dims=lots", *TRAIN]


def r_train_option_unknown(c):
    face_sets(c)
    return ["train", "SAE", "--option", "warp_speed=9", *TRAIN]


def r_train_option_choice(c):
    face_sets(c)
    return ["train", "SAE", "--option", "archi=unet", *TRAIN]


def r_train_option_no_value(c):
    face_sets(c)
    return ["train", "SAE", "--option", "resolution", *TRAIN]


def r_train_batch_zero(c):
    face_sets(c)
    return ["train", "SAE", *small_sae(), "--no-window", "--batch-size", "0"]


def r_train_no_gpu_idx(c):
    face_sets(c)
    return ["train", "SAE", "--device", "7", *small_sae(), *TRAIN]


def r_train_model_of_another_model(c):
    """SAE's files renamed to H64's: a model file from another model."""
    face_sets(c)
    model = with_model(c)
    for f in list(model.iterdir()):
        if f.is_file():
            f.rename(model / f.name.replace("SAE_", "H64_"))
    return ["train", "H64", *TRAIN]


def r_train_locked_option_changed(c):
    face_sets(c)
    with_model(c)
    return ["train", "SAE", "--option", "resolution=128", *TRAIN]


def r_train_weights_of_other_options(c):
    """The data file says resolution 128, the weights are a 64 px model's."""
    face_sets(c)
    model = with_model(c)
    data = json.loads((model / "SAE_data.json").read_text())
    data["options"]["resolution"] = 128
    (model / "SAE_data.json").unlink()
    (model / "SAE_data.json").write_text(json.dumps(data))
    return ["train", "SAE", *TRAIN]


def r_train_truncated_weights(c):
    face_sets(c)
    model = with_model(c)
    data = (model / "SAE_weights.safetensors").read_bytes()
    (model / "SAE_weights.safetensors").unlink()
    (model / "SAE_weights.safetensors").write_bytes(data[:len(data) // 2])
    return ["train", "SAE", *TRAIN]


def r_train_damaged_data_json(c):
    face_sets(c)
    model = with_model(c)
    (model / "SAE_data.json").unlink()
    (model / "SAE_data.json").write_text('{"format": "faceswap-studio/model/1", "iter')
    return ["train", "SAE", *TRAIN]


def r_train_damaged_json_with_backup(c):
    face_sets(c)
    model = with_model(c)
    slot = model / "SAE_backups" / "1"
    slot.mkdir(parents=True)
    for name in ("SAE_data.json", "SAE_weights.safetensors"):
        os.link(model / name, slot / name)
    (model / "SAE_data.json").unlink()
    (model / "SAE_data.json").write_text('{"format": "faceswap-studio/model/1", "iter')
    return ["train", "SAE", *TRAIN]


def r_train_foreign_model_files(c):
    """A DeepFaceLab 1.0 model folder (Keras .h5, pickled .dat): never loaded."""
    face_sets(c)
    (c.ws / "model").mkdir()
    (c.ws / "model" / "SAE_encoder.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    (c.ws / "model" / "SAE_data.dat").write_bytes(b"\x80\x04\x95pickled")
    return ["train", "SAE", *small_sae(), *TRAIN]


def r_train_read_only_model(c):
    face_sets(c)
    model = with_model(c)
    c.mounts.readonly(model)
    return ["train", "SAE", "--target-iter", "1", *TRAIN]


def edit_saved(c: Ctx, change: Callable[[dict], None]) -> None:
    """The saved model with its data file edited (written anew: the original is a hard link)."""
    model = with_model(c)
    data = json.loads((model / "SAE_data.json").read_text())
    change(data)
    (model / "SAE_data.json").unlink()
    (model / "SAE_data.json").write_text(json.dumps(data))


def nan_weights(c: Ctx) -> None:
    """The saved model with one weight NaN, as a diverged run of an older version saved it."""
    from safetensors import safe_open
    from safetensors.numpy import save_file
    path = with_model(c) / "SAE_weights.safetensors"
    with safe_open(str(path), framework="numpy") as f:
        header, state = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    key = sorted(k for k in state if not k.startswith("opt/"))[0]
    state[key] = state[key].copy()
    state[key].flat[0] = float("nan")
    path.unlink()
    save_file(state, str(path), metadata=header)


def r_train_option_nan(c):
    face_sets(c)
    return ["train", "SAE", *small_sae(), "--option", "face_style_power=nan", *TRAIN]


def r_train_option_inf(c):
    face_sets(c)
    return ["train", "SAE", *small_sae(), "--option", "learning_rate=inf", *TRAIN]


def r_train_save_every_nan(c):
    face_sets(c)
    return ["train", "SAE", *small_sae(), "--save-every", "nan", *TRAIN]


def r_train_save_every_zero(c):
    face_sets(c)
    return ["train", "SAE", *small_sae(), "--save-every", "0", *TRAIN]


def r_train_seed_negative(c):
    face_sets(c)
    return ["train", "SAE", *small_sae(), "--no-window", "--batch-size", "2", "--seed", "-1"]


def r_train_target_iter_negative(c):
    face_sets(c)
    with_model(c)
    return ["train", "SAE", "--target-iter", "-5", *TRAIN]


def r_train_saved_resolution_text(c):
    face_sets(c)
    edit_saved(c, lambda d: d["options"].update(resolution="abc"))
    return ["train", "SAE", *TRAIN]


def r_train_saved_archi_unknown(c):
    face_sets(c)
    edit_saved(c, lambda d: d["options"].update(archi="xyz"))
    return ["train", "SAE", *TRAIN]


def r_train_saved_option_nan(c):
    face_sets(c)
    edit_saved(c, lambda d: d["options"].update(face_style_power=float("nan")))
    return ["train", "SAE", *TRAIN]


def r_train_saved_iteration_text(c):
    face_sets(c)
    edit_saved(c, lambda d: d.update(iteration="x"))
    return ["train", "SAE", *TRAIN]


def r_train_saved_iteration_negative(c):
    face_sets(c)
    edit_saved(c, lambda d: d.update(iteration=-5))
    return ["train", "SAE", *TRAIN]


def r_train_nan_weights(c):
    face_sets(c)
    nan_weights(c)
    return ["train", "SAE", *TRAIN]


def r_merge_nan_weights(c):
    merge_ws(c)
    nan_weights(c)
    return ["merge", "SAE", "--mode", "overlay"]


# ---------------------------------------------------------------- rows: merge

def merge_ws(c: Ctx) -> None:
    shutil.copytree(MEDIA / "merge" / "dst", c.ws / "data_dst")


def r_merge_without_model(c):
    merge_ws(c)
    return ["merge", "--mode", "overlay"]


def r_merge_unknown_model(c):
    merge_ws(c)
    return ["merge", "XYZ", "--mode", "overlay"]


def r_merge_other_model_name(c):
    merge_ws(c)
    with_model(c)
    return ["merge", "H64", "--mode", "overlay"]


def r_merge_truncated_weights(c):
    merge_ws(c)
    model = with_model(c)
    data = (model / "SAE_weights.safetensors").read_bytes()
    (model / "SAE_weights.safetensors").unlink()
    (model / "SAE_weights.safetensors").write_bytes(data[:4096])
    return ["merge", "SAE", "--mode", "overlay"]


def r_merge_model_of_other_options(c):
    merge_ws(c)
    model = with_model(c)
    data = json.loads((model / "SAE_data.json").read_text())
    data["options"]["ae_dims"] = 256
    (model / "SAE_data.json").unlink()
    (model / "SAE_data.json").write_text(json.dumps(data))
    return ["merge", "SAE", "--mode", "overlay"]


def r_merge_no_dst_frames(c):
    c.ws.mkdir()
    return ["merge", "--test-predictor", "--mode", "overlay"]


def r_merge_no_aligned(c):
    frames(c.ws / "data_dst", 3)
    return ["merge", "--test-predictor", "--mode", "overlay"]


def r_merge_damaged_face(c):
    merge_ws(c)
    face = c.ws / "data_dst" / "aligned" / "00003_0.jpg"
    face.write_bytes(insert_after_soi(plain_jpeg(face), app15_face_segment(doc(version=7))))
    return ["merge", "--test-predictor", "--mode", "overlay"]


def r_merge_damaged_frame_keeps_merged(c):
    merge_ws(c)
    merged = c.ws / "data_dst" / "merged"
    merged.mkdir()
    shutil.copy(FRAMES / "00001.jpg", merged / "00001.jpg")   # an earlier run's output
    frame = c.ws / "data_dst" / "00004.jpg"
    frame.write_bytes(frame.read_bytes()[:3000])
    return ["merge", "--test-predictor", "--mode", "overlay"]


def r_merge_batch_zero(c):
    merge_ws(c)
    return ["merge", "--test-predictor", "--mode", "overlay", "--batch-size", "0"]


def r_merge_batch_negative(c):
    merge_ws(c)
    return ["merge", "--test-predictor", "--mode", "overlay", "--batch-size", "-1"]


def r_merge_masknet_steps_negative(c):
    merge_ws(c)
    return ["merge", "--test-predictor", "--mask-mode", "FAN-dst", "--masknet-steps", "-5"]


def damaged_merged(c: Ctx) -> Path:
    """Merged frames of an earlier run with three bad ones: empty, cut off, junk."""
    merged = c.ws / "data_dst" / "merged"
    frames(merged, 8)
    (merged / "00002.jpg").write_bytes(b"")
    good = (merged / "00005.jpg").read_bytes()
    (merged / "00005.jpg").write_bytes(good[: len(good) // 2])
    (merged / "00007.jpg").write_bytes(b"junk" * 100)
    return merged


def r_assemble_damaged_frames(c):
    damaged_merged(c)
    return ["video", "assemble", "--fps", "25", "--format", "mp4"]


def r_merge_redoes_damaged_frames(c):
    merge_ws(c)
    damaged_merged(c)
    return ["merge", "--test-predictor", "--mode", "overlay"]


def check_damaged_redone(c):
    from app.video.frames import image_is_complete
    merged = c.ws / "data_dst" / "merged"
    assert all(image_is_complete(merged / f"{i:05d}.jpg") for i in range(1, 9))


def r_merge_erode_range(c):
    merge_ws(c)
    return ["merge", "--test-predictor", "--mode", "overlay", "--erode", "500"]


def r_merge_damaged_masknet(c):
    merge_ws(c)
    model = c.ws / "model"
    model.mkdir(exist_ok=True)
    (model / "masknet.safetensors").write_bytes(b"\0" * 64)
    (model / "masknet.json").write_text('{"channels": 16, "depth": 4, "resolution": 128, '
                                        '"face_type": "full"}')
    return ["merge", "--test-predictor", "--mask-mode", "FAN-prd"]


def r_merge_read_only(c):
    merge_ws(c)
    c.mounts.readonly(c.ws / "data_dst")
    return ["merge", "--test-predictor", "--mode", "overlay"]


def r_merge_full_disk(c):
    merge_ws(c)
    c.mounts.tiny_disk(c.ws / "data_dst" / "merged", 64)
    c.mounts.fill(c.ws / "data_dst" / "merged")
    return ["merge", "--test-predictor", "--mode", "overlay"]


# ---------------------------------------------------------------- rows: paths that must work

def r_ffmpeg_not_executable(c):
    video(c)
    (c.tmp / "ffmpeg").write_text("#!/bin/sh\n")
    (c.tmp / "ffmpeg").chmod(0o644)
    return ["video", "extract", "dst", "--ffmpeg", c.tmp / "ffmpeg"]


def r_two_src_videos(c):
    video(c, name="data_src.mp4")
    video(c, name="data_src.mkv")
    return ["video", "extract", "src", "--fps", "0"]


STALE_TEMP = ".result.mp4.k1ll3d.tmp.mp4"


def r_assemble_after_killed_encode(c):
    frames(c.ws / "data_dst" / "merged", 4)
    (c.ws / STALE_TEMP).write_bytes(b"\0" * 4096)   # what a killed encode left
    return ["video", "assemble", "--fps", "25", "--format", "mp4"]


def check_stale_temp_gone(c):
    assert not (c.ws / STALE_TEMP).exists() and (c.ws / "result.mp4").stat().st_size > 1000


def r_merge_faces_of_a_replaced_video(c):
    """Faces that record their frames (as extraction writes them), then frames 1 and 2 replaced
    by other pictures (a new dst video extracted, faces not): merge must not use them."""
    from app.extract.frame_digest import frame_digest
    from app.faceset.face_file import read_meta, update_meta
    merge_ws(c)
    dst = c.ws / "data_dst"
    for face in (dst / "aligned").glob("*.jpg"):
        meta = read_meta(face)
        meta.source_digest = frame_digest(dst / meta.source_filename)
        update_meta(face, meta)
    for new, old in ((1, 5), (2, 6)):
        shutil.copy(FRAMES / f"{old:05d}.jpg", dst / f"{new:05d}.jpg")
    return ["merge", "--test-predictor", "--mode", "overlay"]


def r_merge_faces_without_frames(c):
    merge_ws(c)
    (c.ws / "data_dst" / "00003.jpg").unlink()
    return ["merge", "--test-predictor", "--mode", "overlay"]


def r_train_counts_unreadable_faces(c):
    face_sets(c)
    for i in range(7):
        (c.ws / "data_src" / "aligned" / f"zz_bad{i}.jpg").write_bytes(FACES[0].read_bytes()[:300])
    with_model(c)
    return ["train", "SAE", "--target-iter", "1", *TRAIN]


#: a display nobody serves: Qt aborted the process (SIGABRT) on it
DEAD_DISPLAY = {"DISPLAY": ":987", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": ""}


def r_mask_edit_dead_display(c):
    existing_aligned(c, "dst")
    return ["mask", "edit", "dst"]


def r_faceset_view_dead_display(c):
    existing_aligned(c, "src")
    return ["faceset", "view", "src"]


def r_train_dead_display(c):
    face_sets(c)
    with_model(c)
    return ["train", "SAE", "--target-iter", "1", "--batch-size", "2"]


def check_preview_file(c):
    assert (c.ws / "model" / "SAE_preview.png").is_file()


def r_unicode_video_extract(c):
    c.ws = c.tmp / UNICODE
    video(c)
    return ["video", "extract", "dst", "--format", "jpg"]


def check_frames_written(c):
    assert len(list((c.ws / "data_dst").glob("*.jpg"))) >= 80


def r_unicode_extract(c):
    c.ws = c.tmp / UNICODE
    frames(c.ws / "data_src", 2)
    return ["extract", "src", *FAST]


def check_unicode_faces(c):
    assert len(list((c.ws / "data_src" / "aligned").glob("*_0.jpg"))) == 2


def r_unicode_info(c):
    folder = c.tmp / UNICODE
    folder.mkdir()
    shutil.copy(FACES[0], folder / "visage é 1.jpg")
    return info(folder / "visage é 1.jpg")


def r_unicode_cut(c):
    c.ws = c.tmp / UNICODE
    return ["video", "cut", video(c, name="clip é.mp4"), "--from", "00:00:00.500",
            "--to", "00:00:01.500", "--bitrate", "2"]


def check_cut_written(c):
    assert (c.ws / "clip é_cut.mp4").stat().st_size > 1000


ROWS = [
    Row("workspace-missing", r_ws_missing, ("no data_src video", "put the src video")),
    Row("workspace-without-videos", r_ws_no_videos, ("no data_dst video",)),
    Row("text-file-renamed-mp4", r_text_as_mp4, ("data_dst.mp4", "not a video")),
    Row("empty-mp4", r_empty_mp4, ("data_dst.mp4",)),
    Row("truncated-video-moov-lost", r_truncated_moov_last, ("data_dst.mp4",)),
    Row("truncated-video-keeps-old-frames", r_truncated_keeps_frames, ("data_dst.mp4",)),
    Row("dst-extract-with-fps", r_dst_with_fps, ("--fps",)),
    Row("frames-there-no-overwrite", r_frames_there_no_overwrite, ("--overwrite",)),
    Row("fps-negative", r_fps_negative, ("fps", "out of range")),
    Row("fps-not-a-number", r_fps_text, ("--fps", "invalid")),
    Row("cut-range-outside-video", r_cut_outside, ("data_dst.mp4", "outside the video")),
    Row("cut-range-backwards", r_cut_backwards, ("data_dst.mp4", "empty")),
    Row("cut-bad-time", r_cut_bad_time, ("--from", "hh:mm:ss")),
    Row("cut-bad-bitrate", r_cut_bad_bitrate, ("--bitrate",)),
    Row("cut-missing-audio-track", r_cut_no_track, ("data_dst.mp4", "audio track 7")),
    Row("cut-missing-video", r_cut_missing, ("nothere.mp4",)),
    Row("cut-read-only-folder", r_cut_readonly, ("cannot write",)),
    Row("denoise-factor-out-of-range", r_denoise_factor, ("denoise factor", "from 1 to 20")),
    Row("denoise-empty-frames-folder", r_denoise_empty, ("data_dst",)),
    Row("denoise-read-only-frames", r_denoise_readonly, ("data_dst", "cannot write")),
    Row("assemble-no-merged-frames", r_assemble_nothing, ("merged", "no merged frames")),
    Row("assemble-gap-in-frames", r_assemble_gap, ("merged",)),
    Row("assemble-wrong-suffix", r_assemble_suffix, ("r.mp4", ".avi")),
    Row("assemble-read-only-workspace", r_assemble_readonly, ("cannot write",)),
    Row("assemble-full-disk", r_assemble_full_disk, ("full: the disk is full",)),
    Row("video-extract-full-disk", r_video_extract_full_disk, ("data_dst: the disk is full",)),
    Row("video-info-text-file", r_video_info_text, ("notes.mp4", "not a video")),
    Row("workspace-flag-empty", r_ws_empty_flag, ("--workspace is empty",)),
    Row("workspace-is-a-file", r_ws_is_a_file, ("notes.txt", "is a file")),
    Row("data-src-is-a-file-clear", r_data_src_is_a_file_clear, ("data_src", "data_src.mp4")),
    Row("data-src-is-a-file-video-extract", r_data_src_is_a_file_extract,
        ("data_src", "is a file")),
    Row("model-dir-is-a-file", r_model_dir_is_a_file, ("model.txt", "--model-dir")),
    Row("result-path-is-a-folder", r_result_is_a_folder, ("result.mp4", "is a folder")),
    Row("output-flag-is-a-folder", r_output_flag_is_a_folder, ("out.mp4", "is a folder")),
    Row("extract-no-frames-folder", r_extract_no_frames_folder, ("data_src", "video extract")),
    Row("extract-empty-frames-folder", r_extract_empty_frames, ("data_src", "no frames")),
    Row("extract-frames-flag-missing", r_extract_frames_flag_missing, ("no frames here",)),
    Row("extract-size-zero", r_extract_size_zero, ("size", "out of range")),
    Row("extract-size-not-a-number", r_extract_size_text, ("--size", "invalid")),
    Row("extract-unknown-detector", r_extract_bad_detector, ("--detector", "yolo")),
    Row("extract-read-only-output", r_extract_readonly, ("data_dst", "cannot write")),
    Row("extract-full-disk", r_extract_full_disk, ("data_dst", "disk is full")),
    Row("extract-corrupt-frames-skipped", r_extract_corrupt_frame, ("00003.jpg", "00004.jpg"),
        works=True, check=check_two_faces_written),
    Row("extract-frames-with-foreign-metadata", r_extract_foreign_metadata_frames, (),
        works=True, check=check_three_faces_written),
    Row("extract-resume-after-a-new-video", r_extract_resume_after_new_video,
        ("2 faces", "aligned_outdated", "1 already done"), works=True,
        check=check_faces_follow_the_new_frames,
        redone=("ws/data_src/aligned/00001_0.jpg", "ws/data_src/aligned/00002_0.jpg")),
    Row("face-truncated", r_info_truncated, ("cut.jpg", "truncated")),
    Row("face-plain-jpg-no-metadata", r_info_plain_jpg, ("face.jpg", "no face metadata")),
    Row("face-foreign-app15", r_info_foreign_app15, ("face.jpg", "no face metadata")),
    Row("face-damaged-json", r_info_damaged_json, ("face.jpg", "damaged", "re-extract")),
    Row("face-newer-version", r_info_newer_version, ("face.jpg", "version 99", "update")),
    Row("face-other-format", r_info_other_format, ("face.jpg", "unknown format")),
    Row("face-bad-landmarks", r_info_bad_landmarks, ("face.jpg", "landmarks", "re-extract")),
    Row("face-deeply-nested-extra", r_info_deep_extra, ("face.jpg", "nested", "re-extract")),
    Row("face-metadata-part-missing", r_info_missing_part, ("face.jpg", "incomplete")),
    Row("face-png-damaged-chunk", r_info_png_damaged_chunk, ("face.png", "damaged")),
    Row("face-text-file-as-jpg", r_info_text_as_jpg, ("face.jpg", "not a jpeg or png")),
    Row("face-file-missing", r_info_missing, ("face.jpg", "not found")),
    Row("face-set-with-one-bad-file", r_info_one_bad_in_folder, ("zz_bad.jpg",)),
    Row("sort-missing-folder", r_sort_missing_dir, ("no set", "not found")),
    Row("sort-final-count-zero", r_sort_final_zero, ("out of range",)),
    Row("sort-read-only-face-set", r_sort_readonly, ("aligned", "cannot write")),
    Row("clear-read-only-workspace", r_clear_readonly, ("cannot write",)),
    Row("train-unknown-model", r_train_unknown_model, ("unknown model", "sae")),
    Row("train-no-face-sets", r_train_no_face_sets, ("data_src", "extract")),
    Row("train-empty-face-set", r_train_empty_face_set, ("data_dst", "no aligned faces")),
    Row("train-set-of-frames-and-damaged-faces", r_train_set_of_bad_faces, ("data_src",)),
    Row("train-option-out-of-range", r_train_option_range, ("resolution", "64..256")),
    Row("train-option-not-a-number", r_train_option_text, ("ae_dims", "lots")),
    Row("train-option-unknown", r_train_option_unknown, ("warp_speed",)),
    Row("train-option-bad-choice", r_train_option_choice, ("archi", "liae")),
    Row("train-option-without-value", r_train_option_no_value, ("key=value",)),
    Row("train-batch-size-zero", r_train_batch_zero, ("batch_size", "1..1024")),
    Row("train-gpu-idx-missing", r_train_no_gpu_idx, ("idx 7",)),
    Row("train-model-file-of-another-model", r_train_model_of_another_model,
        ("h64_data.json", "sae model")),
    Row("train-locked-option-changed", r_train_locked_option_changed, ("resolution",)),
    Row("train-weights-of-other-options", r_train_weights_of_other_options,
        ("sae_weights.safetensors", "does not match")),
    Row("train-truncated-weights", r_train_truncated_weights, ("sae_weights.safetensors",)),
    Row("train-damaged-data-json", r_train_damaged_data_json, ("sae_data.json", "no backup")),
    Row("train-damaged-data-json-offers-backup", r_train_damaged_json_with_backup,
        ("sae_data.json", "sae_backups/1")),
    Row("train-foreign-model-files", r_train_foreign_model_files, ("model", ".h5")),
    Row("train-read-only-model-folder", r_train_read_only_model, ("model", "cannot")),
    Row("train-option-nan", r_train_option_nan, ("face_style_power", "finite")),
    Row("train-option-inf", r_train_option_inf, ("learning_rate", "finite")),
    Row("train-save-every-nan", r_train_save_every_nan, ("--save-every", "nan")),
    Row("train-save-every-zero", r_train_save_every_zero, ("--save-every 0", "more than 0")),
    Row("train-seed-negative", r_train_seed_negative, ("--seed", "out of range")),
    Row("train-target-iter-negative", r_train_target_iter_negative,
        ("target_iter", "at least 0")),
    Row("train-saved-option-wrong-type", r_train_saved_resolution_text,
        ("sae_data.json", "resolution", "abc", "no backup")),
    Row("train-saved-option-unknown-choice", r_train_saved_archi_unknown,
        ("sae_data.json", "archi", "xyz")),
    Row("train-saved-option-nan", r_train_saved_option_nan,
        ("sae_data.json", "face_style_power", "finite")),
    Row("train-saved-iteration-text", r_train_saved_iteration_text,
        ("sae_data.json", "iteration", "'x'")),
    Row("train-saved-iteration-negative", r_train_saved_iteration_negative,
        ("sae_data.json", "iteration", "-5")),
    Row("train-nan-weights", r_train_nan_weights, ("sae_weights.safetensors", "nan")),
    Row("merge-nan-weights", r_merge_nan_weights, ("sae_weights.safetensors", "nan")),
    Row("merge-without-model", r_merge_without_model, ("model", "train one first")),
    Row("merge-unknown-model", r_merge_unknown_model, ("unknown model",)),
    Row("merge-model-not-trained", r_merge_other_model_name, ("no trained h64",)),
    Row("merge-truncated-weights", r_merge_truncated_weights, ("sae_weights.safetensors",)),
    Row("merge-model-of-other-options", r_merge_model_of_other_options,
        ("sae_weights.safetensors", "does not match")),
    Row("merge-no-dst-frames", r_merge_no_dst_frames, ("data_dst", "video extract dst")),
    Row("merge-no-aligned-faces", r_merge_no_aligned, ("aligned", "extract")),
    Row("merge-damaged-aligned-face", r_merge_damaged_face, ("00003_0.jpg",)),
    Row("merge-damaged-frame-keeps-merged", r_merge_damaged_frame_keeps_merged,
        ("00004.jpg", "re-extract")),
    Row("merge-batch-size-zero", r_merge_batch_zero, ("--batch-size 0", "1 or more")),
    Row("merge-batch-size-negative", r_merge_batch_negative, ("--batch-size -1",)),
    Row("merge-masknet-steps-negative", r_merge_masknet_steps_negative, ("--masknet-steps",)),
    Row("assemble-damaged-merged-frames", r_assemble_damaged_frames,
        ("3 of the 8", "00002.jpg", "00005.jpg", "00007.jpg", "merge again")),
    Row("merge-redoes-damaged-merged-frames", r_merge_redoes_damaged_frames,
        ("3 merged frames are empty or damaged", "skipped 5"), works=True,
        check=check_damaged_redone,
        redone=tuple(f"ws/data_dst/merged/0000{i}.jpg" for i in (2, 5, 7))),
    Row("merge-erode-out-of-range", r_merge_erode_range, ("erode", "-200 to 200")),
    Row("merge-damaged-mask-network", r_merge_damaged_masknet, ("mask network", "delete")),
    Row("merge-read-only-frames-folder", r_merge_read_only, ("data_dst", "cannot write")),
    Row("merge-full-disk", r_merge_full_disk, ("merged", "disk is full")),
    Row("ffmpeg-not-executable", r_ffmpeg_not_executable, ("ffmpeg", "not executable")),
    Row("two-src-videos", r_two_src_videos, ("several data_src videos", "data_src.mkv")),
    Row("assemble-removes-a-killed-encodes-temp", r_assemble_after_killed_encode, (),
        works=True, check=check_stale_temp_gone, redone=(f"ws/{STALE_TEMP}",)),
    Row("merge-faces-of-a-replaced-video", r_merge_faces_of_a_replaced_video,
        ("aligned", "2 frames", "00001.jpg, 00002.jpg", "extract dst")),
    Row("merge-says-faces-without-frames", r_merge_faces_without_frames,
        ("1 faces", "(00003.jpg)", "not merged"), works=True),
    Row("train-counts-unreadable-faces", r_train_counts_unreadable_faces,
        ("skipped 7 of the", "and 2 more"), works=True, marks=[pytest.mark.slow],
        redone=("ws/model/SAE_data.json", "ws/model/SAE_weights.safetensors")),
    Row("mask-edit-unreachable-display", r_mask_edit_dead_display,
        ("mask editor needs a display", ":987 cannot be reached"), env=DEAD_DISPLAY),
    Row("faceset-view-unreachable-display", r_faceset_view_dead_display,
        ("needs a display", ":987 cannot be reached"), env=DEAD_DISPLAY),
    Row("train-unreachable-display-goes-headless", r_train_dead_display,
        (":987 cannot be reached", "sae_preview.png", "stopped (target) at iteration 1"),
        works=True, check=check_preview_file, env=DEAD_DISPLAY, marks=[pytest.mark.slow],
        redone=("ws/model/SAE_data.json", "ws/model/SAE_weights.safetensors")),
    Row("unicode-space-workspace-video-extract", r_unicode_video_extract, (), works=True,
        check=check_frames_written),
    Row("unicode-space-workspace-face-extract", r_unicode_extract, (), works=True,
        check=check_unicode_faces),
    Row("unicode-space-face-info", r_unicode_info, ("visage é 1.jpg", "face type"),
        works=True),
    Row("unicode-space-video-cut", r_unicode_cut, (), works=True, check=check_cut_written),
]


#: row helpers that need the saved model
MODEL_HELPERS = ("with_model", "edit_saved", "nan_weights")


def _source(fn) -> str:
    import inspect
    return inspect.getsource(fn)


def test_table_is_big_enough():
    assert len(ROWS) >= 30 and len({r.id for r in ROWS}) == len(ROWS)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    """A small SAE saved by the real trainer (no steps: a 51 MB file, a few seconds)."""
    from app.train.trainer import Trainer
    model_dir = tmp_path_factory.mktemp("model") / "model"
    trainer = Trainer(TRAIN_SETS / "src", TRAIN_SETS / "dst", model_dir, "SAE",
                      options=dict(SMALL_SAE), general={"batch_size": 2}, seed=1,
                      progress=False, log=lambda *a, **k: None)
    trainer.save()
    return model_dir


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id, marks=r.marks) for r in ROWS])
def test_bad_input(row: Row, tmp_path: Path, request):
    mounts = Mounts()
    ctx = Ctx(tmp=tmp_path, ws=tmp_path / "ws", mounts=mounts)
    if any(f"{helper}(c" in _source(row.setup) for helper in MODEL_HELPERS):
        ctx.model = request.getfixturevalue("saved_model")
    try:
        argv = row.setup(ctx)
        before = snapshot(tmp_path)
        proc = run_app(*argv, workspace=ctx.ws, env=row.env)
        output = proc.stdout + proc.stderr
        assert "Traceback" not in output, output
        if row.works:
            assert proc.returncode == 0, output
            for words in row.says:
                assert words.lower() in output.lower(), (words, output)
            if row.check:
                row.check(ctx)
        else:
            assert proc.returncode == 2, output
            errors = [line for line in proc.stderr.splitlines() if "error:" in line]
            assert len(errors) == 1, proc.stderr
            for words in row.says:
                assert words.lower() in errors[0].lower(), (words, errors[0])
        assert sorted(lost_files(before, tmp_path)) == sorted(row.redone), "work lost"
    finally:
        mounts.undo()


def test_a_diverged_run_saves_nothing_and_keeps_the_last_save(saved_model, tmp_path):
    """NaN weights give a NaN loss at the first step: training stops with one clear error and
    neither the run's end nor a direct save overwrites (or rotates away) the good save."""
    import numpy as np
    from app.errors import UserError
    from app.train.trainer import Trainer

    model_dir = tmp_path / "model"
    shutil.copytree(saved_model, model_dir, copy_function=os.link)
    before = snapshot(tmp_path)
    trainer = Trainer(TRAIN_SETS / "src", TRAIN_SETS / "dst", model_dir, "SAE", seed=1,
                      progress=False, log=lambda *a, **k: None)
    sd = trainer.engine.state_dict()
    key = sorted(k for k in sd if not k.startswith("opt/"))[0]
    sd[key] = np.full_like(sd[key], np.nan)
    trainer.engine.load_state_dict(sd)
    with pytest.raises(UserError, match=r"diverged at iteration 1 .*last save \(iteration 0\)"):
        trainer.run(max_steps=3, window=False)
    with pytest.raises(UserError, match="not saved: the weights hold NaN"):
        trainer.save()
    assert lost_files(before, tmp_path) == [] and not (model_dir / "SAE_backups").exists()


def test_an_unexpected_exception_is_one_line_naming_step_file_and_log(tmp_path, monkeypatch,
                                                                     capsys):
    """A bug (here: the image decoder failing inside merge) is one line naming the step, the
    frame it was on and a log file in the workspace holding the full traceback."""
    import cv2
    from app.cli.main import main
    from app.merge import engine

    class BrokenDecoder:
        def __getattr__(self, name):
            return getattr(cv2, name)

        @staticmethod
        def imdecode(*args):
            raise RuntimeError("decoder exploded")

    ws = tmp_path / "ws"
    shutil.copytree(MEDIA / "merge" / "dst", ws / "data_dst")
    monkeypatch.setattr(engine, "cv2", BrokenDecoder())
    monkeypatch.setenv("FACESTUDIO_ASK", "0")
    rc = main(["--workspace", str(ws), "merge", "--test-predictor", "--mode", "overlay"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert rc == 1 and len(lines) == 1 and "Traceback" not in err, err
    line = lines[0]
    assert "merge stopped by an unexpected RuntimeError" in line
    assert f"working on {ws / 'data_dst' / '00001.jpg'}" in line and "decoder exploded" in line
    logs = list((ws / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in line
    text = logs[0].read_text()
    assert "Traceback" in text and "RuntimeError: decoder exploded" in text and "_read_frame" in text
