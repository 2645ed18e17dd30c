"""The weight average (general option ema_decay): its arithmetic, what training saves, exact
resume, models saved before the option, and that merge draws with it."""

import json
from pathlib import Path

import numpy as np
import pytest

from app.errors import UserError
from app.models.predictor import Predictor
from app.models.weight_average import EVERY, PREFIX, WeightAverage
from backends.checkpoint import load_state
from app.train.trainer import Trainer

MEDIA = Path(__file__).parent / "media" / "train"
TINY = {"resolution": 64, "ae_dims": 128, "e_ch_dims": 21, "d_ch_dims": 11}


def trainer(model_dir, general=None, options=TINY, seed=7):
    return Trainer(MEDIA / "src", MEDIA / "dst", model_dir, "SAE", options=options,
                   general=general, seed=seed, progress=False, log=lambda *a: None)


def saved(model_dir) -> dict:
    return load_state(Path(model_dir) / "SAE_weights.safetensors")[0]


def test_the_average_moves_every_few_steps_by_the_decay():
    w = {"a": np.zeros(3, np.float32)}
    avg = WeightAverage(0.9, w)
    w["a"][:] = 1.0
    assert avg.shadow["a"].max() == 0.0  # a copy, not the live weights
    assert not avg.update(EVERY * 100 + 1, lambda: w)  # between updates: the weights unread
    assert avg.update(EVERY * 100, lambda: w)
    np.testing.assert_allclose(avg.shadow["a"], 1 - 0.9 ** EVERY, rtol=1e-6)
    # early on the decay is lower, so a run's first steps leave its random start behind
    early = WeightAverage(0.9999, {"a": np.zeros(3, np.float32)})
    early.update(EVERY, lambda: w)
    np.testing.assert_allclose(early.shadow["a"], 1 - ((1 + EVERY) / (10 + EVERY)) ** EVERY,
                               rtol=1e-6)


def test_resume_keeps_what_fits_and_starts_the_rest_at_the_weights():
    current = {"a": np.ones(2, np.float32), "b": np.ones(3, np.float32)}
    avg = WeightAverage.resume(0.99, {"a": np.zeros(2, np.float32), "b": np.zeros(4, np.float32)},
                               current)
    assert avg.shadow["a"].max() == 0.0 and avg.shadow["b"].min() == 1.0
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(1.0, current)


def test_training_saves_the_average_and_resume_is_exact(tmp_path):
    steps, on = 3 * EVERY, {"batch_size": 2, "ema_decay": 0.9, "learning_rate": 1e-3}
    trainer(tmp_path / "whole", on).run(max_steps=steps, window=False)
    trainer(tmp_path / "half", on).run(max_steps=steps // 2, window=False)
    trainer(tmp_path / "half", options=None, seed=None).run(max_steps=steps - steps // 2,
                                                           window=False)
    whole, half = saved(tmp_path / "whole"), saved(tmp_path / "half")
    avg_keys = [k for k in whole if k.startswith(PREFIX)]
    weights = [k for k in whole if not k.startswith(("opt/", PREFIX))]
    assert sorted(avg_keys) == sorted(PREFIX + k for k in weights)
    for k in avg_keys:
        np.testing.assert_array_equal(whole[k], half[k])
    # the average is not the last weights: it still remembers the steps before them
    gaps = [np.abs(whole[PREFIX + k] - whole[k]).max() for k in weights]
    assert max(gaps) > 1e-4


def test_off_by_default_saves_no_average(tmp_path):
    trainer(tmp_path, {"batch_size": 2}).run(max_steps=EVERY, window=False)
    assert not any(k.startswith(PREFIX) for k in saved(tmp_path))
    data = json.loads((tmp_path / "SAE_data.json").read_text())
    assert data["general"]["ema_decay"] == 0.0


def test_merge_draws_with_the_average(tmp_path):
    t = trainer(tmp_path, {"batch_size": 2, "ema_decay": 0.9, "learning_rate": 1e-3})
    t.run(max_steps=3 * EVERY, window=False)
    faces = np.ascontiguousarray(t.preview_batch["dst"].transpose(0, 2, 3, 1), np.float32)
    with_average = Predictor.load(tmp_path, "SAE").predict(faces, need_mask=False)[0]
    state = saved(tmp_path)
    raw = Predictor.load(tmp_path, "SAE")
    raw.engine.assign_weights({k: v for k, v in state.items()
                               if not k.startswith(("opt/", PREFIX))})
    assert np.abs(raw.predict(faces, need_mask=False)[0] - with_average).mean() > 1e-4
    averaged = Predictor.load(tmp_path, "SAE")
    np.testing.assert_allclose(averaged.predict(faces, need_mask=False)[0], with_average,
                               atol=1e-6)


def test_a_model_saved_before_the_option_can_switch_it_on(tmp_path):
    trainer(tmp_path, {"batch_size": 2}).run(max_steps=1, window=False)
    data = json.loads((tmp_path / "SAE_data.json").read_text())
    del data["general"]["ema_decay"]  # as saved before the option existed
    (tmp_path / "SAE_data.json").write_text(json.dumps(data))
    kept = trainer(tmp_path, options=None, seed=None)
    assert kept.general["ema_decay"] == 0.0 and kept.average is None
    on = trainer(tmp_path, {"ema_decay": 0.99}, options=None, seed=None)
    assert on.average is not None
    on.run(max_steps=EVERY, window=False)
    assert any(k.startswith(PREFIX) for k in saved(tmp_path))
    with pytest.raises(UserError, match="ema_decay"):
        trainer(tmp_path, {"ema_decay": 1.5}, options=None, seed=None)
