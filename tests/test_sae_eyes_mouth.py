"""SAE's eyes-and-mouth priority (DeepFaceLab 2.0's SAEHD option, added to SAE; tried for the demo,
bench/RESULTS.md 2026-12-08): off keeps SAE as DFL 1.0 has it; on, the network spends more of
itself on the eyes and inner mouth; a model saved before the option existed reads it as off and
may switch it on."""

import json
from pathlib import Path

import numpy as np
import pytest

from app.models import model_class
from app.models.options import resolve
from app.train.samples import load_faceset
from app.train.trainer import Trainer

MEDIA = Path(__file__).parent / "media" / "train"
TINY = {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21, "d_ch_dims": 11, "learn_mask": False}


def trainer(model_dir, options=TINY, general=None, seed=3):
    return Trainer(MEDIA / "src", MEDIA / "dst", model_dir, "SAE", options=options,
                   general={"batch_size": 4, "learning_rate": 5e-4, **(general or {})},
                   seed=seed, progress=False, log=lambda *a: None)


def test_off_by_default_and_on_adds_the_masks_and_a_loss_term_on_both_sides():
    cls = model_class("SAE")
    off = cls(resolve(cls.options_spec, TINY))
    on = cls(resolve(cls.options_spec, {**TINY, "eyes_mouth_prio": True}))
    assert off.options["eyes_mouth_prio"] is False and not off.eyes_mouth_masks
    g = {"random_flip": False, "src_scale_mod": 0}
    assert on.sample_settings(g)[2]["eyes_mouth"] and not off.sample_settings(g)[2]["eyes_mouth"]
    assert on.specs.keys() == off.specs.keys()   # the same network: a loss option only


@pytest.fixture(scope="module")
def dst_faces():
    fs = load_faceset(MEDIA / "dst", 64, "full", eyes_mouth=True)
    faces = fs.images.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    return faces, fs.em_masks.astype(np.float32)[:, None] / 255.0


def eyes_mouth_error(t: Trainer, faces, em) -> tuple[float, float]:
    """Mean absolute reconstruction error of dst's faces inside and outside the eyes-and-mouth
    mask, with the trained weights."""
    out = t.engine.predict(lambda F, P, b: t.model.reconstruct(F, P, b["x"], b["x"])[1],
                           {"x": faces})
    err = np.abs(np.asarray(out, np.float32) - faces).mean(axis=1, keepdims=True)
    return float((err * em).sum() / em.sum()), float((err * (1 - em)).sum() / (1 - em).sum())


def test_priority_learns_the_eyes_and_mouth_more_exactly(tmp_path, dst_faces):
    """Same seed, same batches, same steps: with the priority the error inside the eyes and
    mouth is lower against the rest of the face's than without it (early in training the
    priority shifts the network's effort; it does not yet lower the eyes' error outright)."""
    results = {}
    for on in (False, True):
        t = trainer(tmp_path / str(on), {**TINY, "eyes_mouth_prio": on})
        t.run(max_steps=100, window=False)
        results[on] = eyes_mouth_error(t, *dst_faces)
    (em_off, rest_off), (em_on, rest_on) = results[False], results[True]
    assert em_on / rest_on < 0.9 * em_off / rest_off, results


def test_a_model_saved_before_the_option_reads_it_as_off_and_can_switch_it_on(tmp_path):
    trainer(tmp_path).run(max_steps=1, window=False)
    path = tmp_path / "SAE_data.json"
    data = json.loads(path.read_text())
    del data["options"]["eyes_mouth_prio"]   # as saved before the option existed
    path.write_text(json.dumps(data))
    kept = trainer(tmp_path, options=None, seed=None)
    assert kept.options["eyes_mouth_prio"] is False and kept.src.em_masks is None
    on = trainer(tmp_path, options={"eyes_mouth_prio": True}, seed=None)
    assert on.model.eyes_mouth_masks and on.src.em_masks is not None
    on.run(max_steps=1, window=False)
    assert json.loads(path.read_text())["options"]["eyes_mouth_prio"] is True
