"""Pupils from MediaPipe's iris net (app/extract/pupils.py, app/extract/iris_net.py): the
converted net gives the original model's points, and the pupils sit nearer the hand-placed
ones than the 68-point eye centres do, on the photos with WebMorph templates."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.extract.accuracy import eye_error, tem_pupils
from app.extract.detectors import Landmarker, make_detector
from app.extract.iris_net import WEIGHTS, IrisNet
from app.extract.pupils import (BATCH_FACES, eye_crops, locate_pupils, locate_pupils_many,
                                pupils_of, run_net)

REPO = Path(__file__).resolve().parent.parent
TFLITE = REPO / "bench" / "weights" / "iris_landmark.tflite"
TEMS = sorted((REPO / "tests" / "media" / "extract").glob("*.tem"))


@pytest.fixture(scope="module")
def photos():
    """(name, image, 68 points, hand-placed pupils) of each photo with a template."""
    det, fit = make_detector("fast"), Landmarker()
    out = []
    for tem in TEMS:
        img = cv2.imread(str(tem.with_suffix(".jpg")))
        box = max(det.detect(img), key=lambda b: b.area)
        out.append((tem.stem, img, fit.fit(img, box), tem_pupils(tem)))
    return out


def test_the_weights_file_holds_every_parameter_of_the_net_with_its_licence():
    from safetensors import safe_open
    with safe_open(str(WEIGHTS), "np") as f:
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
        meta = f.metadata()
    assert "Apache" in meta["license"]
    assert shapes == {k: tuple(s.shape) for k, s in IrisNet().specs().items()}


def test_the_converted_net_gives_the_original_models_points(photos):
    """The tflite file run by OpenVINO (fp32) and our net on the same real eye crops."""
    ov = pytest.importorskip("openvino")
    model = ov.Core().compile_model(str(TFLITE), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    x, _ = eye_crops([(img, lm) for _, img, lm, _ in photos])
    ours = run_net(x)
    ref = np.stack([model([np.ascontiguousarray(c.transpose(1, 2, 0)[None])])["output_iris"]
                    for c in x]).reshape(-1, 5, 3)
    assert len(x) == 2 * len(photos)
    assert np.abs(ours - ref).max() < 1e-3
    assert ours[:, 0, :2].std(0).min() > 0.5  # crops that differ give points that differ


def test_pupils_beat_the_68_point_eye_centres_against_hand_placed_pupils(photos):
    errors = {}
    for name, img, lm, truth in photos:
        errors[name] = (eye_error(lm, truth), eye_error(lm, truth, locate_pupils(img, lm)))
    for group in ("london", "lisa"):
        e = np.array([v for k, v in errors.items() if k.startswith(group)])
        assert np.median(e[:, 1]) < np.median(e[:, 0]), (group, errors)
    london = [v[1] for k, v in errors.items() if k.startswith("london")]
    assert np.median(london) <= 0.03 and max(v[1] for v in errors.values()) < 0.03, errors


def test_a_mirrored_frame_gives_the_mirrored_pupils(photos):
    """The image-right eye goes through the net mirrored: mirroring the frame swaps the roles
    of the two eyes, and the pupils must come out where mirroring puts them."""
    _, img, lm, truth = photos[-1]
    w = img.shape[1]
    flipped = img[:, ::-1].copy()
    lm_f = lm.copy()
    lm_f[:, 0] = w - 1 - lm_f[:, 0]
    order = np.r_[16:-1:-1, 26:16:-1, 27:31, 35:30:-1, 45:41:-1, 47:45:-1, 39:35:-1, 41:39:-1,
                  54:47:-1, 59:54:-1, 64:59:-1, 67:64:-1]
    lm_f = lm_f[order]
    pupils, pupils_f = locate_pupils(img, lm), locate_pupils(flipped, lm_f)
    back = pupils_f[::-1].copy()
    back[:, 0] = w - 1 - back[:, 0]
    iod = np.linalg.norm(truth[1] - truth[0])
    assert np.linalg.norm(back - pupils, axis=1).max() / iod < 0.002  # half a crop pixel: 0.007


def test_faces_of_a_frame_run_as_one_batch(photos):
    """Two faces in one batch (the second: the same points shifted) give what each gives
    alone."""
    _, img, lm, _ = photos[0]
    shifted = lm + np.array([3.0, -2.0])
    one, two = locate_pupils_many(img, [lm, shifted])
    assert np.allclose(one, locate_pupils(img, lm), atol=1e-3)
    assert np.allclose(two, locate_pupils(img, shifted), atol=1e-3)
    assert not np.allclose(one, two, atol=0.1)
    assert locate_pupils_many(img, []) == []


def test_faces_of_many_frames_in_batches_give_what_each_gives_alone(photos):
    faces = [(img, lm) for _, img, lm, _ in photos] * 3
    assert len(faces) > BATCH_FACES
    together = pupils_of(faces)
    for (img, lm), pupils in zip(faces, together):
        np.testing.assert_allclose(pupils, locate_pupils(img, lm), atol=1e-3)


def test_extraction_stores_the_pupils_and_marks_them_on_the_debug_frame(tmp_path, photos):
    """write_frame_faces (the pipeline's and the manual window's writer) puts each face's
    pupils in its file (version 2) and a cross on them in the debug frame; with
    ExtractOptions(pupils=False) the file has none and stays version 1."""
    from app.extract.detectors import Box
    from app.extract.faces import Found
    from app.extract.pipeline import ExtractOptions, write_frame_faces
    from app.faceset.face_file import read_meta

    name, img, lm, _ = photos[-1]
    frame = tmp_path / f"{name}.png"
    cv2.imwrite(str(frame), img)
    box = Box(*lm.min(0), *lm.max(0))
    for on in (True, False):
        out = tmp_path / str(on)
        (out / "debug").mkdir(parents=True)
        write_frame_faces(frame, img, [Found(box, lm.copy())], ExtractOptions(pupils=on),
                          out, out / "debug")
        meta = read_meta(out / f"{name}_0.jpg")
        debug = cv2.imread(str(out / "debug" / f"{name}.jpg")).astype(int)
        if not on:
            assert meta.source_pupils is None and meta.pupils_array() is None
            continue
        pupils = np.asarray(meta.source_pupils)
        np.testing.assert_allclose(pupils, locate_pupils(img, lm), atol=1e-6)
        aligned = meta.pupils_array()
        assert np.linalg.norm(aligned - np.stack([meta.landmarks_array()[36:42].mean(0),
                                                  meta.landmarks_array()[42:48].mean(0)]),
                              axis=1).max() < 10   # on the aligned face's eyes (256 px)
        for x, y in np.round(pupils).astype(int):  # a white cross on the (dark) pupil
            lighter = debug[y - 1:y + 2, x - 1:x + 2] - img[y - 1:y + 2, x - 1:x + 2]
            assert lighter.mean(2).max() > 100
