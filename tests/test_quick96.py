"""Quick96 (DeepFaceLab 2.0): SAEHD's network at DFL's fixed Quick96 size, no questions, RMSprop
with LR dropout, every third batch the previous faces unwarped; it trains and predicts."""

from pathlib import Path

import numpy as np
import pytest

from app.errors import UserError
from app.models import model_class
from app.models.options import resolve

MEDIA = Path(__file__).parent / "media" / "train"


def test_fixed_network_and_optimizer_as_deepfacelab():
    cls = model_class("Quick96")
    assert cls.options_spec == () and cls.default_batch == 4
    with pytest.raises(UserError, match="unknown option"):
        resolve(cls.options_spec, {"resolution": 64})
    m = cls({})
    assert (m.resolution, m.face_type, m.archi_type, m.archi_opts) == (96, "full", "df", "ud")
    assert m.specs["inter.dense2.weight"].shape == (128, 3 * 3 * 128)          # -d: res / 32
    assert m.specs["decoder_src.ups.0.conv.weight"].shape[0] == 64 * 8 * 4      # d_dims 64
    assert m.specs["decoder_src.mask_ups.0.conv.weight"].shape[0] == 16 * 8 * 4  # mask dims 16
    o = m.optimizers()[0]
    assert (o.kind, o.lr_dropout, o.lr_cos) == ("rmsprop", 0.3, 0)
    assert cls.merge_defaults({})["mode"] == "overlay"


def test_every_third_batch_repeats_the_last_faces_unwarped():
    from app.train.samples import BatchMaker, SampleConfig, load_faceset
    m = model_class("Quick96")({})
    src_aug, dst_aug, extra = m.sample_settings({"random_flip": True, "src_scale_mod": 0})
    assert not src_aug.random_flip and not dst_aug.random_flip
    faces = [load_faceset(MEDIA / s, 96, "full") for s in ("src", "dst")]
    maker = BatchMaker(*faces, SampleConfig(2, seed=0, **extra), src_aug, dst_aug)
    b2, b3, b4 = maker.make(2), maker.make(3), maker.make(4)
    np.testing.assert_array_equal(b3["target_src"], b2["target_src"])
    np.testing.assert_array_equal(b3["warped_src"], b2["target_src"])
    np.testing.assert_array_equal(b3["warped_dst"], b2["target_dst"])
    assert not np.array_equal(b4["target_src"], b3["target_src"])
    assert not np.allclose(b2["warped_src"], b2["target_src"], atol=1e-3)


@pytest.mark.slow  # 38 M parameters at 96 px: ~45 s for two steps on 2 shared cores
def test_trains_saves_and_predicts(tmp_path):
    from app.models import load_predictor
    from app.train.trainer import Trainer
    t = Trainer(MEDIA / "src", MEDIA / "dst", tmp_path, "Quick96", general={"batch_size": 2},
                seed=1, progress=False, log=lambda *a: None)
    r = t.run(max_steps=2, window=False)
    assert r.iteration == 2 and all(np.isfinite(v) for h in r.history for v in h)
    p = load_predictor(tmp_path, "Quick96")
    face, mask = p.predict(np.zeros((1, 96, 96, 3), np.float32))
    assert face.shape == (1, 96, 96, 3) and mask.shape == (1, 96, 96, 1)
