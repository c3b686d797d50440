import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from inade.errors import CheckpointError
from inade.checkpoints.native import load_checkpoint
from inade.training.checkpoint import CheckpointStore
from inade.training.sampler import ResumableBatchSampler


def test_sampler_order_depends_only_on_seed_and_epoch_and_resumes_mid_epoch():
    sampler = ResumableBatchSampler(10, 3, seed=5)
    sampler.set_position(epoch=2)
    full = list(sampler)
    assert len(full) == 3 and all(len(b) == 3 for b in full)
    again = ResumableBatchSampler(10, 3, seed=5)
    again.set_position(epoch=2, start_batch=1)
    assert list(again) == full[1:]
    other_epoch = ResumableBatchSampler(10, 3, seed=5)
    other_epoch.set_position(epoch=3)
    assert list(other_epoch) != full


def test_sampler_shards_disjointly_across_ranks():
    shards = []
    for rank in range(2):
        sampler = ResumableBatchSampler(9, 2, seed=0, rank=rank, world_size=2)
        shards.append({i for batch in sampler for i in batch})
    assert len(shards[0]) == len(shards[1]) == 4
    assert not shards[0] & shards[1]


def test_store_keeps_latest_and_last_k(tmp_path):
    store = CheckpointStore(str(tmp_path), keep=2)
    for iteration in (10, 20, 30):
        store.save({"iteration": iteration, "value": np.full(3, iteration)}, periodic=True)
    assert [i for i, _ in store.periodic()] == [20, 30]
    assert store.load_latest()["iteration"] == 30
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_store_counts_periodic_checkpoints_of_both_formats_and_prunes_both(tmp_path):
    store = CheckpointStore(str(tmp_path), keep=1)
    for name in ("iter_00000010.pdckpt", "iter_00000010.safetensors", "iter_00000020.pdckpt", "latest.pdckpt"):
        (tmp_path / name).write_bytes(b"old")
    assert store.periodic() == [(10, str(tmp_path / "iter_00000010.safetensors")), (20, str(tmp_path / "iter_00000020.pdckpt"))]
    assert store.latest_path == str(tmp_path / "latest.pdckpt")
    store.save({"iteration": 30}, periodic=True)
    assert sorted(os.listdir(tmp_path)) == ["iter_00000030.safetensors", "latest.safetensors"]
    assert store.latest_path == str(tmp_path / "latest.safetensors")


def test_load_errors(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(str(tmp_path / "missing.safetensors"))
    junk = tmp_path / "junk.pdckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pdckpt: not a Paddle pickle file"):
        load_checkpoint(str(junk))


def test_kill_during_a_checkpoint_write_leaves_the_previous_one_loadable(tmp_path):
    """A writer is killed with SIGKILL while it writes a large second checkpoint:
    the first must still load, intact."""
    script = textwrap.dedent(
        f"""
        import numpy as np
        from inade.training.checkpoint import CheckpointStore
        store = CheckpointStore({str(tmp_path)!r})
        store.save({{"iteration": 1, "weights": np.arange(1000, dtype="float32")}}, periodic=False)
        print("first saved", flush=True)
        big = np.random.default_rng(0).standard_normal(60_000_000).astype("float32")
        while True:
            store.save({{"iteration": 2, "weights": big}}, periodic=False)
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "first saved"
        deadline = time.time() + 60
        while time.time() < deadline:
            partial = [f for f in os.listdir(tmp_path) if f.endswith(".tmp") and os.path.getsize(tmp_path / f) > 0]
            if partial:
                break
            time.sleep(0.01)
        assert partial, "the writer never started the second checkpoint"
        writer.kill()
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    state = CheckpointStore(str(tmp_path)).load_latest()
    assert state["iteration"] == 1
    np.testing.assert_array_equal(np.asarray(state["weights"]), np.arange(1000, dtype="float32"))
