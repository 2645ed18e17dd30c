"""`mask apply` / `mask remove` (DeepFaceLab 2's "XSeg apply"): the mask network's masks stored
in the face files (format version 2), used by training's masks and by merge's dst mask mode.

The dst sample faces get a magenta box pasted over the mouth (an obstruction), and a stand-in
network that leaves out exactly the magenta pixels plays the trained network, so what each step
does with an applied mask can be checked to the pixel. `test_masknet.py` trains the real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from app.extract.align import face_matrix, transform_points
from app.faceset import face_file as ff
from app.faceset.face_masks import aligned_face_mask, decode_mask
from app.masknet import net as masknet
from app.masknet.apply import apply_masks, remove_masks
from app.train.samples import load_faceset
from tests.conftest import MEDIA, REPO

DST = MEDIA / "merge" / "dst"
STEPS = int(os.environ.get("MASK_APPLY_STEPS", "40"))
MAGENTA = (255, 0, 255)


class MagentaNet(masknet.MaskNet):
    """Keeps every pixel but the magenta ones (the pasted obstruction)."""

    def __init__(self, face_type: str = "full", resolution: int = 64):
        super().__init__(None, resolution, face_type, info={"steps": 7})

    def predict(self, faces: np.ndarray, batch: int = 16) -> np.ndarray:
        f = np.asarray(faces, np.float32)
        magenta = (f[..., 0] > 0.8) & (f[..., 1] < 0.2) & (f[..., 2] > 0.8)
        return (~magenta).astype(np.float32)


def mouth_box(meta: ff.FaceMeta) -> tuple[int, int, int, int]:
    mouth = meta.landmarks_array()[48:68]
    (x0, y0), (x1, y1) = mouth.min(0).astype(int) - 4, mouth.max(0).astype(int) + 4
    return x0, y0, x1, y1


def occluded_faces(folder: Path) -> Path:
    """The dst sample faces with a magenta box over the mouth (metadata kept)."""
    folder.mkdir(parents=True)
    for p in ff.list_faces(DST / "aligned"):
        img, meta = ff.read_face(p)
        x0, y0, x1, y1 = mouth_box(meta)
        img[y0:y1, x0:x1] = MAGENTA
        ff.write_face(folder / p.name, img, meta, quality=100)
    return folder


def in_box(mask: np.ndarray, meta: ff.FaceMeta, scale: float = 1.0) -> float:
    x0, y0, x1, y1 = (int(round(v * scale)) for v in mouth_box(meta))
    return float(mask[y0 + 2:y1 - 2, x0 + 2:x1 - 2].mean())


def stored_version(path: Path) -> int:
    data = path.read_bytes()
    doc = next(data[b + len(ff.JPEG_MAGIC) + 2:e] for m, _s, e, b in ff.jpeg_segments(data, path)
               if m == 0xEF and data[b:b + len(ff.JPEG_MAGIC)] == ff.JPEG_MAGIC)
    return json.loads(doc)["version"]


def test_apply_stores_the_networks_mask_and_remove_takes_it_out(tmp_path):
    faces = occluded_faces(tmp_path / "aligned")
    before = {p.name: cv2.imread(str(p)) for p in ff.list_faces(faces)}
    report = apply_masks(faces, MagentaNet(), progress=False)
    assert report.changed == 7 and not report.failed
    for p in ff.list_faces(faces):
        img, meta = ff.read_face(p)
        np.testing.assert_array_equal(img, before[p.name])        # pixels untouched
        mask = decode_mask(meta, path=p)
        assert mask.shape == img.shape[:2] and stored_version(p) == 2
        assert in_box(mask, meta) < 10                            # the box is left out
        assert mask[mask.shape[0] // 3, mask.shape[1] // 2] > 245  # the rest is kept
        assert "7 steps" in meta.learned_mask["by"]
    report = remove_masks(faces)
    assert report.changed == 7
    for p in ff.list_faces(faces):
        assert ff.read_meta(p).learned_mask is None and stored_version(p) == 1
    assert remove_masks(faces).unchanged == 7


def test_training_masks_use_the_applied_mask_and_the_polygons_over_it(tmp_path):
    faces = occluded_faces(tmp_path / "aligned")
    hull = load_faceset(faces, 64, "full")
    apply_masks(faces, MagentaNet(), progress=False)
    learned = load_faceset(faces, 64, "full")
    ignored = load_faceset(faces, 64, "full", learned_masks=False)   # the mask network's targets
    np.testing.assert_array_equal(ignored.masks, hull.masks)
    assert (learned.masks != hull.masks).any()
    for k, p in enumerate(ff.list_faces(faces)):
        meta = ff.read_meta(p)
        pts = transform_points(meta.landmarks_array()[48:68],
                               face_matrix(meta.landmarks_array(), 64, "full"))
        cx, cy = np.round(pts.mean(0)).astype(int)
        assert hull.masks[k][cy, cx] == 255 and learned.masks[k][cy, cx] == 0
    # a polygon the user drew still wins over the network: include the mouth again
    p = ff.list_faces(faces)[0]
    meta = ff.read_meta(p)
    x0, y0, x1, y1 = mouth_box(meta)
    meta.mask_polygons = [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]]
    meta.mask_polygon_modes = ["include"]
    ff.update_meta(p, meta)
    img, meta = ff.read_face(p)
    assert in_box(aligned_face_mask(meta, img.shape[:2]), meta) == 1.0


def test_masked_training_learns_what_the_applied_mask_shows(tmp_path):
    """Same faces, seed and steps: with the masks applied the model's learned mask leaves the
    obstruction out, without them it learns the box as face."""
    from app.models import load_predictor
    from app.train.api import train
    from app.workspace import Workspace

    got = {}
    for case in ("hull", "applied"):
        ws = Workspace(tmp_path / case)
        for side in ("src", "dst"):   # the swap's mask comes from the src decoder
            occluded_faces(ws.aligned_dir(side))
            if case == "applied":
                apply_masks(ws.aligned_dir(side), MagentaNet(), progress=False)
        train(ws, "H64", options={"lighter_ae": True}, general={"batch_size": 4},
              max_steps=STEPS)
        pred = load_predictor(ws.model_dir, "H64")
        mats, crops, metas = [], [], []
        for p in ff.list_faces(ws.aligned_dir("dst")):
            img, meta = ff.read_face(p)
            m = face_matrix(meta.landmarks_array(), 64, "half")
            crops.append(cv2.warpAffine(img, m, (64, 64), flags=cv2.INTER_AREA))
            mats.append(m)
            metas.append(meta)
        _, masks = pred.predict(np.stack(crops).astype(np.float32) / 255.0)
        vals = []
        for mask, m, meta in zip(masks[..., 0], mats, metas):
            cx, cy = np.round(transform_points(meta.landmarks_array()[48:68], m).mean(0))
            vals.append(mask[int(cy) - 2:int(cy) + 3, int(cx) - 2:int(cx) + 3].mean())
        got[case] = float(np.mean(vals))
    assert got["applied"] < got["hull"] - 0.1, got


def test_merge_dst_mask_mode_keeps_the_obstruction_the_mask_left_out(tmp_path):
    from app.merge.dst_inputs import dst_faces_by_frame, list_frames
    from app.merge.engine import merge_frames
    from app.merge.options import MergeOptions
    from app.merge.predictors import ColorShiftPredictor

    faces = occluded_faces(tmp_path / "aligned")
    frames = [f for f in list_frames(DST) if f.stem == "00003"]
    meta = ff.read_meta(faces / "00003_0.jpg")
    to_frame = cv2.invertAffineTransform(meta.matrix())
    mouth = cv2.transform(meta.landmarks_array()[None, 48:68], to_frame)[0]
    cx, cy = np.round(mouth.mean(0)).astype(int)
    out = {}
    for case in ("hull", "applied"):
        if case == "applied":
            apply_masks(faces, MagentaNet(), progress=False)
        dst = dst_faces_by_frame(faces)
        merge_frames(frames, dst, tmp_path / case, ColorShiftPredictor(128, "full"),
                     MergeOptions(mode="overlay", mask_mode="dst"), workers=0)
        out[case] = cv2.imread(str(tmp_path / case / "00003.jpg")).astype(np.float32)
    frame = cv2.imread(str(frames[0])).astype(np.float32)
    at = (slice(cy - 2, cy + 3), slice(cx - 2, cx + 3))
    assert np.abs(out["hull"][at] - frame[at]).mean() > 10       # the hull pastes over the mouth
    assert np.abs(out["applied"][at] - frame[at]).mean() < 6     # the applied mask leaves it
    cheek = (slice(cy - 40, cy - 35), slice(cx - 2, cx + 3))
    assert np.abs(out["applied"][cheek] - frame[cheek]).mean() > 10   # the face is still merged


def test_cli_apply_without_a_network_is_one_error_line_and_remove_works(tmp_path):
    faces = occluded_faces(tmp_path / "ws" / "data_dst" / "aligned")
    env = dict(os.environ, FACESTUDIO_ASK="0", PYTHONPATH=str(REPO))

    def app(*args):
        return subprocess.run([sys.executable, "-m", "app", "--workspace", str(tmp_path / "ws"),
                               "mask", *args], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=300)
    r = app("apply", "dst")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'ws' / 'model'}: no trained mask network here; train it first "
        "with `python -m app mask train`"], r.stderr
    # the CLI loads the real network file: save a tiny trained one
    from app.masknet import training
    data = training.load_faces([faces], 32, "full")
    training.train(data, 32, "full", steps=2).save(tmp_path / "ws" / "model")
    r = app("apply", "dst")
    assert r.returncode == 0 and "applied the mask network's masks to 7 faces" in r.stdout, r.stderr
    assert all(ff.read_meta(p).learned_mask for p in ff.list_faces(faces))
    r = app("remove", "dst")
    assert r.returncode == 0 and "removed the applied masks from 7 faces" in r.stdout
    assert not any(ff.read_meta(p).learned_mask for p in ff.list_faces(faces))
