"""MT (MTCNN on the engine layer API, committed weights) on real photos and frames: faces found
where they are, the 68-point fit in its box, batches over frames, torch against OpenCL, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.extract.accuracy import eye_error, tem_pupils
from app.extract.detector_mt import MTDetector
from app.extract.detectors import Box, Landmarker, iou, make_detector

MEDIA = Path(__file__).parent / "media"
PHOTOS = sorted((MEDIA / "extract").glob("*.jpg"))
TWO_PEOPLE = sorted((MEDIA / "person").glob("frame_*.jpg"))


@pytest.fixture(scope="module")
def mt():
    return MTDetector(device="cpu")


def _outline(lm: np.ndarray) -> Box:
    return Box(*lm.min(0), *lm.max(0))


def test_every_photo_gives_its_face_where_the_landmarks_are(mt):
    """The box holds the hand-placed pupils; O-net's eye points sit on them; the 68-point fit in
    the mapped box puts the eyes there, and the outline of its points covers the same face."""
    lm_fit = Landmarker()
    errors, point_errors = [], []
    for photo in PHOTOS:
        img = cv2.imread(str(photo))
        (raw, points), = mt.raw_many([img])
        boxes = mt.detect(img)
        assert boxes and len(raw) == len(boxes), photo.name
        k = int(np.argmax([b.area for b in boxes]))
        lm = lm_fit.fit(img, boxes[k])
        face = Box(*raw[k, :4])
        assert iou(face, _outline(lm)) > 0.6, photo.name
        tem = photo.with_suffix(".tem")
        if tem.exists():
            pupils = tem_pupils(tem)
            assert all(face.left < x < face.right and face.top < y < face.bottom for x, y in pupils)
            errors.append(eye_error(lm, pupils))
            iod = np.linalg.norm(pupils[1] - pupils[0])
            point_errors.append(np.linalg.norm(points[k, :2] - pupils, axis=1).mean() / iod)
    assert len(errors) == 6
    assert np.median(errors) < 0.05 and max(errors) < 0.08, errors
    assert max(point_errors) < 0.1, point_errors


def test_both_people_of_the_two_person_frames_in_one_batch(mt):
    """Four frames of one size run as one batch per stage and give what each gives alone."""
    frames = [cv2.imread(str(p)) for p in TWO_PEOPLE]
    together = mt.detect_many(frames)
    for frame, boxes in zip(frames, together):
        alone = mt.detect(frame)
        assert len(boxes) == len(alone) == 2
        for a, b in zip(sorted(alone, key=lambda b: b.left), sorted(boxes, key=lambda b: b.left)):
            assert np.abs(np.array(a.as_list()) - b.as_list()).max() < 0.5
    assert all(max(b.left for b in boxes) > frames[0].shape[1] / 2 > min(b.right for b in boxes)
               for boxes in together)  # one on each side of the frame


def test_large_frame_is_searched_scaled_down(mt):
    img = cv2.imread(str(PHOTOS[0]))
    big = cv2.resize(img, None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)
    small = max(mt.detect(img), key=lambda b: b.area)
    large = max(mt.detect(big), key=lambda b: b.area)
    assert abs(large.left / 2.5 - small.left) < 0.1 * (small.right - small.left)


def test_no_face_in_a_picture_without_one(mt):
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (5, 5), 0)
    assert mt.detect(noise) == [] and mt.detect_many([]) == []


def test_mt_is_a_registered_detector_and_the_default():
    from app.extract.options import default_detector
    assert isinstance(make_detector("mt"), MTDetector)
    assert default_detector() == "mt"


@pytest.mark.slow
def test_same_boxes_on_torch_and_opencl(mt):
    """PoCL compiles each pyramid scale's kernels on first use (minutes on 2 cores; cached)."""
    from backends.devices import list_opencl
    if not any(d.usable for d in list_opencl()):
        pytest.skip("no usable OpenCL device")
    frame = cv2.imread(str(TWO_PEOPLE[0]))
    (b_torch, p_torch), = mt.raw_many([frame])
    (b_cl, p_cl), = MTDetector(engine="opencl").raw_many([frame])
    assert len(b_torch) == len(b_cl) == 2
    assert np.abs(b_torch[:, :4] - b_cl[:, :4]).max() < 1.0
    assert np.abs(p_torch - p_cl).max() < 1.0


def test_cli_extract_with_mt(tmp_path):
    from app.cli.main import main
    from app.faceset.face_file import list_faces
    frames = tmp_path / "frames"
    frames.mkdir()
    for f in TWO_PEOPLE[:2]:
        shutil.copy(f, frames / f.name)
    assert main(["extract", "src", "--frames", str(frames), "--detector", "mt",
                 "--workers", "1", "--face-type", "full", "--size", "128"]) == 0
    assert len(list_faces(frames / "aligned")) == 4  # two people in each frame


def test_dst_keeps_the_tilted_woman_in_every_frame(tmp_path, capsys):
    """The two-person clip's woman tilts her head ~50 degrees: MT's eye points give that roll,
    the 68-point fit holds, and `--person` finds her (never the man) in all four frames."""
    from app.cli.main import main
    from app.extract.person import person_from_image
    from app.faceset.face_file import list_faces, read_face
    from app.identity import embed_landmarks
    frames = tmp_path / "data_dst"
    frames.mkdir()
    for f in TWO_PEOPLE:
        shutil.copy(f, frames / f.name)
    ref = MEDIA / "person" / "ref_woman.jpg"
    assert main(["extract", "dst", "--frames", str(frames), "--workers", "1",
                 "--person", str(ref)]) == 0  # the default detector: mt
    det, lm = make_detector("fast"), Landmarker()
    people = {who: person_from_image(MEDIA / "person" / f"ref_{who}.jpg", det, lm)
              for who in ("woman", "man")}
    faces = list_faces(frames / "aligned")
    assert len(faces) == len(TWO_PEOPLE)
    for path in faces:
        img, meta = read_face(path)
        emb = embed_landmarks(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), meta.landmarks_array())
        assert people["woman"].distance(emb) < people["woman"].threshold < people["man"].distance(emb)


def test_extraction_in_batches_of_frames_gives_what_one_frame_at_a_time_gives(tmp_path,
                                                                              monkeypatch):
    """On a GPU, MT takes frames in batches (batch_frames); forced here on the CPU, the aligned
    faces are those of frame-by-frame detection, and detect_many did the finding."""
    from app.extract import pipeline
    from app.extract.pipeline import ExtractOptions, extract_folder
    from app.faceset.face_file import list_faces, read_face
    frames = tmp_path / "frames"
    frames.mkdir()
    for f in TWO_PEOPLE:
        shutil.copy(f, frames / f.name)
    (frames / "frame_00099.jpg").write_bytes(b"not a picture")  # a bad frame in the batch
    calls = []
    real = MTDetector.detect_many
    monkeypatch.setattr(MTDetector, "detect_many",
                        lambda self, imgs: calls.append(len(imgs)) or real(self, imgs))
    results, sizes = {}, {}
    monkeypatch.setattr(pipeline, "_STATE", {})  # this test's detectors stay in this test
    for batch in (1, 3):
        calls.clear()
        monkeypatch.setattr(MTDetector, "__init__", _cpu_init_keeping(batch))
        pipeline._STATE.clear()  # a new detector for this run
        out = tmp_path / f"aligned_{batch}"
        report = extract_folder(frames, out, None, ExtractOptions(detector="mt", workers=1,
                                                                  size=128), progress=False)
        assert report.faces == 8 and len(report.bad) == 1
        results[batch] = {p.name: read_face(p)[1].source_landmarks for p in list_faces(out)}
        sizes[batch] = list(calls)
    assert set(sizes[1]) == {1} and max(sizes[3]) == 3 and sum(sizes[3]) == 4, sizes
    assert results[1].keys() == results[3].keys()
    for name in results[1]:
        assert np.abs(np.array(results[1][name]) - results[3][name]).max() < 0.5, name


def _cpu_init_keeping(batch: int):
    real = MTDetector.__init__

    def init(self, engine="torch", device=None):
        real(self, engine, "cpu")
        self.batch_frames = batch
    return init
