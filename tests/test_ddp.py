"""DDP with two CPU processes (gloo) follows a single process with the whole batch."""

import json

import numpy as np

from backends import ddp

STEPS = 4


def _train(rank, world, init_file, out_dir, seed_batches):
    import torch
    torch.set_num_threads(1)
    from backends import get_engine
    from backends.example import TinyAutoencoder, loss_fn, sample_batch
    from backends.optim import Adam
    if world > 1:
        ddp.init(rank, world, init_file)
    model = TinyAutoencoder()
    eng = get_engine("torch", "cpu", precision="fp32")
    eng.init_params(model.specs(), seed=1)
    eng.set_optimizers([Adam(lr=3e-3)])
    step = eng.train_step(loss_fn(model))
    losses = []
    for i in range(STEPS):
        batch = sample_batch(n=4, seed=seed_batches)
        losses.append(step(ddp.shard(batch, rank, world) if world > 1 else batch)["loss"])
    w = eng.to_numpy(eng.params["to_rgb.weight"])
    (out_dir / f"rank{rank}_w{world}.json").write_text(json.dumps({"losses": losses, "w": w.ravel().tolist()}))
    if world > 1:
        ddp.shutdown()


def test_two_cpu_processes_match_single_process(tmp_path):
    ddp.launch(_train, 2, str(tmp_path / "rendezvous"), tmp_path, 10)
    _train(0, 1, None, tmp_path, 10)
    single = json.loads((tmp_path / "rank0_w1.json").read_text())
    r0 = json.loads((tmp_path / "rank0_w2.json").read_text())
    r1 = json.loads((tmp_path / "rank1_w2.json").read_text())
    assert r0["losses"] == r1["losses"]              # losses averaged over ranks
    np.testing.assert_allclose(r0["losses"], single["losses"], rtol=1e-4)
    assert single["losses"][-1] < single["losses"][0]
    np.testing.assert_allclose(r0["w"], r1["w"])     # replicas stay identical
    np.testing.assert_allclose(r0["w"], single["w"], atol=1e-5)


def test_shard_splits_evenly():
    b = {"x": np.arange(8).reshape(8, 1)}
    assert ddp.shard(b, 1, 2)["x"].ravel().tolist() == [4, 5, 6, 7]
