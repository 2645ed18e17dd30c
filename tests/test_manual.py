"""Manual extraction: the state machine (keys, mouse) and the manual-fix flows, without a display."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from app.extract.accuracy import eye_centres
from app.extract.detectors import make_detector
from app.extract.manual_fix import frames_with_deleted_debug, remove_faces
from app.extract.pipeline import ExtractOptions, extract_folder
from app.faceset.face_file import list_faces, read_meta
from app.ui.manual_state import KEY_ESC, KEY_SPACE, ManualState
from app.ui.manual_window import FrameSource, apply_decision, draw, make_fit

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    import imageio_ffmpeg
    out = tmp_path_factory.mktemp("manual") / "data_dst"
    out.mkdir()
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i",
                    str(REPO / "workspace" / "data_dst.mpg"), "-frames:v", "6",
                    str(out / "%05d.png")], check=True)
    return out


def _state(paths):
    source = FrameSource(paths)
    return source, ManualState(source, make_fit(source))


def _auto_box(source, i):
    return make_detector("fast").detect(source.image(i))[0]


def test_mouse_places_the_face_and_enter_accepts(frames):
    source, st = _state(sorted(frames.glob("*.png")))
    assert st.index == 0 and st.show_help and not st.locked
    b = _auto_box(source, 0)
    st.on_mouse_move((b.left + b.right) / 2, (b.top + b.bottom) / 2)
    for _ in range(20):  # shrink the rectangle to the face size with the wheel
        if st.half * 2 <= (b.right - b.left):
            break
        st.on_wheel(-120)
    lm = st.landmarks
    e = eye_centres(lm)  # landmarks follow the box: eyes inside the detector's box
    assert b.left < e[0][0] < e[1][0] < b.right and b.top < e[0][1] < b.bottom
    st.on_key(13)
    assert st.index == 1 and not st.decisions[0].skipped
    np.testing.assert_allclose(st.decisions[0].landmarks, lm)
    st.on_key(KEY_SPACE)
    assert st.index == 2 and st.decisions[1].skipped
    assert [i for i, _ in st.take_pending()] == [0, 1] and st.take_pending() == []


def test_click_locks_wheel_and_keys(frames):
    source, st = _state(sorted(frames.glob("*.png")))
    st.on_mouse_move(180, 170)
    st.on_click()
    locked_lm = st.landmarks.copy()
    half = st.half
    st.on_mouse_move(20, 20)
    st.on_wheel(120)
    assert st.locked and st.half == half and np.array_equal(st.landmarks, locked_lm)
    st.on_click()
    assert not st.locked
    st.on_wheel(120)
    assert st.half == pytest.approx(half * 1.1)
    st.on_key(ord("A"))
    assert st.precise
    st.on_key(ord("h"))
    assert not st.show_help and st.view()["help"] == []
    st.on_key(ord("."))
    st.on_key(ord("."))
    assert st.index == 2
    st.on_key(ord(","))
    assert st.index == 1 and st.decisions == {}
    st.on_key(ord(","))
    st.on_key(ord(","))
    assert st.index == 0
    st.on_key(KEY_ESC)
    assert st.finished
    st.on_key(13)
    assert st.decisions == {}  # nothing happens after the end


def test_enter_on_last_frame_finishes_and_revisit_restores_box(frames):
    paths = sorted(frames.glob("*.png"))[:2]
    source, st = _state(paths)
    st.on_mouse_move(170, 160)
    st.on_key(13)
    st.on_mouse_move(100, 100)
    st.on_key(ord(","))
    assert st.index == 0 and (st.cx, st.cy) == (170, 160)  # back where it was accepted
    st.on_key(ord("."))
    st.on_key(13)
    assert st.finished and len(st.decisions) == 2


def test_draw_renders_without_a_window(frames):
    source, st = _state(sorted(frames.glob("*.png")))
    img = draw(source.image(0), st.view(), "00001.png", 0.5)
    assert img.shape == (144, 180, 3)
    assert not np.array_equal(img[:40], np.zeros_like(img[:40]))


def test_manual_fix_deleted_debug_flow(tmp_path, frames):
    work = tmp_path / "data_dst"
    shutil.copytree(frames, work)
    aligned, debug = work / "aligned", tmp_path / "aligned_debug"
    opts = ExtractOptions(side="dst", workers=1)
    extract_folder(work, aligned, debug, opts, progress=False)
    (debug / "00002.jpg").unlink()
    (debug / "00005.jpg").unlink()
    todo = frames_with_deleted_debug(work, aligned, debug)
    assert todo == ["00002.png", "00005.png"]
    before = read_meta(aligned / "00002_0.jpg")
    source, st = _state([work / n for n in todo])
    # the user places the face slightly differently, accepts frame 2 and skips frame 5
    b = before.source_rect
    st.on_mouse_move((b[0] + b[2]) / 2 + 3, (b[1] + b[3]) / 2)
    st.half = (b[2] - b[0]) / 2
    st.on_key(ord("a"))  # precision mode
    st.on_key(13)
    st.on_key(KEY_SPACE)
    assert st.finished
    for index, decision in st.take_pending():
        apply_decision(source, index, decision, opts, aligned, debug)
    after = read_meta(aligned / "00002_0.jpg")
    assert after.source_landmarks != before.source_landmarks
    assert np.abs(np.array(after.source_landmarks) - before.source_landmarks).mean() < 5
    assert not (aligned / "00005_0.jpg").exists()
    assert (debug / "00002.jpg").exists() and (debug / "00005.jpg").exists()
    assert frames_with_deleted_debug(work, aligned, debug) == []
    assert len(list_faces(aligned)) == 5
    assert remove_faces(aligned, "00003.png") == 1 and len(list_faces(aligned)) == 4


def test_cli_manual_without_display_is_a_clear_error(tmp_path, frames):
    import sys
    ws = tmp_path / "ws"
    shutil.copytree(frames, ws / "data_dst")
    env = {"FACESTUDIO_ASK": "0", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "app", "--workspace", str(ws), "extract", "dst",
                          "--detector", "manual"], cwd=REPO, env=env, capture_output=True,
                         text=True)
    assert run.returncode == 2 and "needs a display" in run.stderr
    run = subprocess.run([sys.executable, "-m", "app", "--workspace", str(ws), "extract", "dst",
                          "--manual-fix-deleted-debug"], cwd=REPO, env=env, capture_output=True,
                         text=True)
    assert run.returncode == 2 and "aligned_debug" in run.stderr


def test_random_event_sequences_keep_the_state_consistent(frames):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    paths = sorted(frames.glob("*.png"))[:3]
    source = FrameSource(paths)
    fit = make_fit(source)
    events = st.lists(st.one_of(
        st.tuples(st.just("move"), st.floats(-50, 500), st.floats(-50, 400)),
        st.tuples(st.just("wheel"), st.sampled_from([-120, 120]), st.just(0)),
        st.tuples(st.just("click"), st.just(0), st.just(0)),
        st.tuples(st.just("key"), st.sampled_from([13, 32, 44, 46, 97, 104, 27, 120, -1]),
                  st.just(0))), max_size=25)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(events)
    def run(seq):
        state = ManualState(source, fit)
        for kind, a, b in seq:
            before = (state.index, state.landmarks, state.locked)
            {"move": lambda: state.on_mouse_move(a, b), "wheel": lambda: state.on_wheel(a),
             "click": state.on_click, "key": lambda: state.on_key(int(a))}[kind]()
            assert 0 <= state.index < len(paths)
            assert state.half >= 8
            if before[2] and state.locked and state.index == before[0]:
                assert state.landmarks is before[1]  # locked landmarks never move
            assert state.landmarks is not None and state.landmarks.shape == (68, 2)
        for i, d in state.decisions.items():
            assert 0 <= i < len(paths) and (d.skipped or d.landmarks.shape == (68, 2))
    run()
