"""Temporal landmark smoothing: jitter averaged away, real motion kept."""

import numpy as np

from app.extract.smoothing import smooth_sequence


def _face(offset=(0.0, 0.0)) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    return np.stack([100 + 60 * np.cos(t), 100 + 70 * np.sin(t)], 1) + np.asarray(offset)


def test_jitter_on_a_still_face_is_reduced():
    rng = np.random.default_rng(1)
    base = _face()
    seq = [base + rng.normal(0, 0.8, base.shape) for _ in range(40)]
    out = smooth_sequence(seq)
    before = np.std([s - base for s in seq], axis=0).mean()
    after = np.std([s - base for s in out[3:-3]], axis=0).mean()
    assert after < 0.7 * before


def test_a_jump_is_not_smeared_and_gaps_are_respected():
    seq = [_face()] * 5 + [_face((30, 0))] * 5
    out = smooth_sequence(seq)
    assert np.abs(out[4] - _face()).max() < 0.5
    assert np.abs(out[5] - _face((30, 0))).max() < 0.5
    seq = [_face(), None, _face((0.5, 0))]
    out = smooth_sequence(seq)
    assert out[1] is None and np.allclose(out[0], _face())


def test_linear_motion_has_no_lag():
    seq = [_face((0.3 * i, 0)) for i in range(20)]
    out = smooth_sequence(seq)
    for i in range(3, 17):
        assert np.abs(out[i] - seq[i]).max() < 1e-6
