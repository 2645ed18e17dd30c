"""Sample generator: decoding, masks, DFL augmentation, determinism, yaw pairing, feeder."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.errors import UserError
from app.faceset.face_file import read_face, write_face
from app.train.samples import (AugmentOptions, BatchMaker, SampleConfig, SampleFeeder,
                               load_faceset, warp_image, warp_params)

MEDIA = Path(__file__).parent / "media" / "train"
NO_AUG = AugmentOptions(rotation=0, scale=0, shift=0, random_flip=False)


@pytest.fixture(scope="module")
def sets():
    return load_faceset(MEDIA / "src", 64, "full"), load_faceset(MEDIA / "dst", 64, "full")


def test_load_decodes_at_model_resolution_and_face_type():
    full = load_faceset(MEDIA / "src", 64, "full")
    half = load_faceset(MEDIA / "src", 64, "half")
    assert full.images.shape == (25, 64, 64, 3) and full.masks.shape == (25, 64, 64)
    # a half face is a zoomed-in crop: its hull mask covers more of the square than the full one
    assert half.masks.mean() > full.masks.mean() + 20
    assert not np.array_equal(full.images, half.images)


def test_missing_and_empty_face_sets_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="extract"):
        load_faceset(tmp_path / "nope", 64, "full")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no aligned faces"):
        load_faceset(tmp_path / "empty", 64, "full")


def test_half_face_files_cannot_train_a_full_face_model(tmp_path):
    img, meta = read_face(sorted((MEDIA / "src").glob("*.jpg"))[0])
    meta.face_type = "half"
    write_face(tmp_path / "a.jpg", img, meta)
    with pytest.raises(UserError, match="half face"):
        load_faceset(tmp_path, 64, "full")


def test_mask_polygons_cut_and_add_over_the_hull(tmp_path):
    img, meta = read_face(sorted((MEDIA / "src").glob("*.jpg"))[0])
    write_face(tmp_path / "a_hull.jpg", img, meta)
    meta.mask_polygons = [[[40, 40], [80, 40], [80, 80], [40, 80]], [[0, 0], [20, 0], [20, 20]]]
    meta.mask_polygon_modes = ["exclude", "include"]
    write_face(tmp_path / "b_poly.jpg", img, meta)
    faces = load_faceset(tmp_path, img.shape[0], "full")
    assert faces.names == ["a_hull.jpg", "b_poly.jpg"]
    hull_mask, poly_mask = (m > 127 for m in faces.masks)
    assert hull_mask[60, 60] and not poly_mask[60, 60]   # the exclude square is cut out
    assert not hull_mask[5, 12] and poly_mask[5, 12]     # the include triangle is added
    assert (hull_mask & ~poly_mask).sum() > 0.8 * 40 * 40 * hull_mask[40:80, 40:80].mean()
    assert (hull_mask[90:] == poly_mask[90:]).all()      # the rest of the hull is unchanged


def test_target_is_the_unwarped_face_and_warp_changes_it(sets):
    src, _ = sets
    rng = np.random.default_rng(0)
    p = warp_params(rng, 64, NO_AUG)
    img = src.images[0]
    assert np.abs(warp_image(p, img, False).astype(int) - img).max() <= 1
    assert np.abs(warp_image(p, img, True).astype(int) - img).mean() > 2


def test_batches_depend_only_on_seed_and_iteration(sets):
    src, dst = sets
    cfg = SampleConfig(4, multiscale=3, seed=5)
    a = BatchMaker(src, dst, cfg, AugmentOptions(), AugmentOptions())
    b = BatchMaker(src, dst, cfg, AugmentOptions(), AugmentOptions())
    b1, b2 = a.make(7), b.make(7)
    assert b1.keys() == b2.keys()
    assert all(np.array_equal(b1[k], b2[k]) for k in b1)
    assert not np.array_equal(a.make(8)["warped_src"], b1["warped_src"])
    assert b1["target_src_1"].shape == (4, 3, 32, 32) and b1["mask_dst_2"].shape == (4, 1, 16, 16)
    assert b1["warped_src"].dtype == np.float32 and 0 <= b1["warped_src"].min() <= b1["warped_src"].max() <= 1


def test_feeder_from_any_iteration_gives_the_same_batches(sets):
    src, dst = sets
    maker = BatchMaker(src, dst, SampleConfig(2, seed=1), AugmentOptions(), AugmentOptions())
    feeder = SampleFeeder(maker, start=3, workers=2)
    try:
        got = [feeder.next() for _ in range(4)]
    finally:
        feeder.close()
    for i, batch in enumerate(got):
        want = maker.make(3 + i)
        assert np.array_equal(batch["warped_dst"], want["warped_dst"])


def test_epochs_visit_every_face_once(sets):
    src, dst = sets
    maker = BatchMaker(src, dst, SampleConfig(5, seed=2), NO_AUG, NO_AUG)
    seen = [k for i in range(5) for k in maker.indices(i)[0]]
    assert sorted(seen) == list(range(25))


def test_flip_option(sets):
    src, dst = sets
    off = BatchMaker(src, dst, SampleConfig(8, seed=3), NO_AUG, NO_AUG)
    on_aug = AugmentOptions(rotation=0, scale=0, shift=0, random_flip=True)
    on = BatchMaker(src, dst, SampleConfig(8, seed=3), on_aug, on_aug)
    idx = off.indices(0)[0]
    plain = off.make(0)["target_src"]
    flipped = on.make(0)["target_src"]
    originals = src.images[idx].transpose(0, 3, 1, 2) / 255.0
    assert np.abs(plain - originals).max() < 0.01
    mirrored = [np.abs(flipped[i] - originals[i][:, :, ::-1]).max() < 0.01 for i in range(8)]
    assert 0 < sum(mirrored) < 8


def test_src_scale_modifier_zooms_src_only(sets):
    src, dst = sets
    zoom = AugmentOptions(rotation=0, scale=0, shift=0, random_flip=False, scale_shift=0.3)
    base = BatchMaker(src, dst, SampleConfig(4, seed=4), NO_AUG, NO_AUG).make(0)
    zoomed = BatchMaker(src, dst, SampleConfig(4, seed=4), zoom, NO_AUG).make(0)
    assert zoomed["mask_src"].mean() > base["mask_src"].mean() * 1.2
    assert np.array_equal(zoomed["target_dst"], base["target_dst"])


def test_yaw_sorted_feeding_pairs_src_by_dst_pose(sets):
    # sets whose yaws spread widely, so pairing by pose is measurable
    src = replace(sets[0], yaws=np.linspace(-0.8, 0.8, len(sets[0])).astype(np.float32))
    dst = replace(sets[1], yaws=np.linspace(0.8, -0.8, len(sets[1])).astype(np.float32))
    cfg = dict(batch_size=8, seed=9)
    paired = BatchMaker(src, dst, SampleConfig(sort_by_yaw=True, **cfg), NO_AUG, NO_AUG)
    plain = BatchMaker(src, dst, SampleConfig(sort_by_yaw=False, **cfg), NO_AUG, NO_AUG)

    def gap(m):
        s, d = zip(*[m.indices(i) for i in range(6)])
        return np.mean([abs(src.yaws[a] - dst.yaws[b]) for ss, dd in zip(s, d) for a, b in zip(ss, dd)])
    assert gap(paired) < 0.1 < gap(plain)


def test_yaw_sorted_feeding_mirrors_src_turned_the_other_way(sets):
    """src filmed turned left, dst turned right: with flips allowed the pairing takes mirrored
    src faces (DFL 1.0's sort_by_yaw), and DFL's random flip then turns 40 % of them back, so
    the src decoder sees both turns; without flips no face is mirrored."""
    n = len(sets[0])
    src = replace(sets[0], yaws=np.linspace(-0.6, -0.2, n).astype(np.float32))
    dst = replace(sets[1], yaws=np.linspace(0.3, 0.6, len(sets[1])).astype(np.float32))
    flip_aug = AugmentOptions(rotation=0, scale=0, shift=0, random_flip=True)
    cfg = SampleConfig(8, seed=5, sort_by_yaw=True)
    mirrored = BatchMaker(src, dst, cfg, flip_aug, NO_AUG)
    unflipped = BatchMaker(src, dst, cfg, NO_AUG, NO_AUG)
    shares = []
    for i in range(12):
        s_idx, d_idx, flips = mirrored.picks(i)
        flips = np.array(flips)
        shares.append(flips.mean())
        gap = np.abs(np.where(flips, -1, 1) * src.yaws[s_idx] - dst.yaws[d_idx])
        assert gap[flips].max() < 0.1                  # matched: dst's turn
        assert (gap[~flips] > 0.35).all()              # flipped back at random: the other turn
        if i < 3:
            target = mirrored.make(i)["target_src"]
            originals = src.images[s_idx].transpose(0, 3, 1, 2) / 255.0
            originals[flips] = originals[flips][..., ::-1]
            assert np.abs(target - originals).max() < 0.01
        s_idx, d_idx, flips = unflipped.picks(i)
        assert not any(flips)
        assert np.abs(src.yaws[s_idx] - dst.yaws[d_idx]).min() > 0.35
    assert 0.45 < np.mean(shares) < 0.75                # 60 % keep the match


def test_parts_of_a_batch_put_together_are_the_whole_batch():
    """Each of N training processes builds its 1/N of every batch (app.train.distributed); the
    parts in rank order are the single-process batch, with every random option on."""
    src, dst = (load_faceset(MEDIA / s, 64, "full", eyes_mouth=True) for s in ("src", "dst"))
    aug = AugmentOptions(random_flip=True, scale_shift=0.05, hsv_power=0.2)

    def batch(part: int, parts: int, **yaw) -> dict:
        cfg = SampleConfig(4, multiscale=2, seed=3, part=part, parts=parts, eyes_mouth=True,
                           ct_mode="rct", **(yaw or {"sort_by_yaw": True}))
        return BatchMaker(src, dst, cfg, aug, AugmentOptions(random_flip=True)).make(5)
    whole, halves = batch(0, 1), [batch(r, 2) for r in (0, 1)]
    assert halves[0]["warped_src"].shape[0] == 2 and "em_src" in whole
    for k in whole:
        np.testing.assert_array_equal(np.concatenate([h[k] for h in halves]), whole[k], err_msg=k)
    assert not np.array_equal(halves[0]["warped_src"], halves[1]["warped_src"])
    whole, halves = batch(0, 1, uniform_yaw=True), [batch(r, 2, uniform_yaw=True) for r in (0, 1)]
    for k in whole:
        np.testing.assert_array_equal(np.concatenate([h[k] for h in halves]), whole[k], err_msg=k)
