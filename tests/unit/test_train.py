import numpy as np
import pytest

from miiii import train
from miiii.config import parse_overrides, preset


@pytest.fixture(scope="module")
def multi():
    # 24 epochs: long enough for every logged quantity to move, short enough that the 1e-7
    # rounding differences of batched matmuls are not yet amplified by the dynamics (on a
    # seed-0 run at lr 3e-3 they reach 1e-4 by epoch 40: Adam normalises tiny gradients).
    grid = parse_overrides(preset("smoke"), ["epochs=24", "seed=0,1", "lambda=0,2", "dropout=0,0.2",
                                             "mask=none;3"])
    return grid, train.train(grid)


def test_log_epochs_are_linear_and_log_spaced():
    cfg = preset("smoke").replace(epochs=10000, log_linear=10, log_log=10)
    e = train.log_epochs(cfg)
    assert e[0] == 0 and e[-1] == 10000
    assert {1000, 5000, 9000} <= set(e.tolist())  # linear
    assert {1, 3, 8, 22} <= set(e.tolist())  # geometric: 10000 ** (k / 9)


def test_chunk_ends_hit_powers_of_two_and_multiples():
    cfg = preset("smoke").replace(epochs=100, chunk=32)
    assert train.chunk_ends(cfg, 0) == [1, 2, 4, 8, 16, 32, 64, 96, 100]
    assert train.chunk_ends(cfg, 64) == [96, 100]


def test_multi_run_matches_each_run_alone(multi):
    grid, (state, logs, s) = multi
    assert s.n_runs == 16
    m = np.asarray(logs.metrics)
    for r in (0, 7, 10, 13):  # every varying value appears; each check compiles a new program
        cfg = s.runs[r]
        alone = parse_overrides(cfg, [])
        _, logs1, _ = train.train(alone)
        np.testing.assert_allclose(np.asarray(logs1.metrics)[:, 0, 0], m[:, r, 0], atol=1e-5)  # train loss
        np.testing.assert_allclose(np.asarray(logs1.metrics)[:, 0, 2], m[:, r, 2], atol=1e-5)  # valid loss


def test_training_lowers_the_loss():
    grid = parse_overrides(preset("smoke"), ["epochs=200", "dropout=0"])
    _, logs, s = train.train(grid)
    m = np.asarray(logs.metrics)
    assert m[-1, 0, 0].mean() < 0.5 * m[0, 0, 0].mean()  # train loss
    assert m[0, 0, 0].mean() == pytest.approx(1.0, abs=0.15)  # a fresh model is near uniform


def test_masked_subtask_is_evaluated_but_not_trained(multi):
    grid, (state, logs, s) = multi
    m = np.asarray(logs.metrics)
    qs = list(s.task.subtasks)
    masked = [r for r, c in enumerate(s.runs) if c.mask == (3,)]
    free = [r for r, c in enumerate(s.runs) if c.mask == ()]
    j = qs.index(3)
    assert np.isfinite(m[-1, masked, 0, j]).all()
    # training on q=3 lowers its train loss far more than not training on it
    assert m[-1, free, 0, j].mean() < m[-1, masked, 0, j].mean() - 0.05


def test_checkpoint_epochs_add_evenly_spaced_ones_and_chunks_end_there():
    cfg = parse_overrides(preset("smoke"), ["ckpt_every=10"]).base
    assert train.checkpoint_epochs(cfg) == [0, 1, 2, 4, 8, 10, 16, 20, 30, 32, 40, 50, 60, 64]
    assert set(train.checkpoint_epochs(cfg)) - {0} <= set(train.chunk_ends(cfg, 0))
    assert train.checkpoint_epochs(preset("smoke")) == [0, 1, 2, 4, 8, 16, 32, 64]


def test_dropout_mask_batch_shares_one_mask_across_examples():
    """dropout_mask=batch (the study's code): one key per step, so equal inputs get equal logits."""
    import jax

    from miiii import model, tasks

    x = np.tile(np.array([[3, 4, 11]], np.int32), (8, 1))
    for mode, distinct in (("batch", 1), ("example", 8)):
        cfg = parse_overrides(preset("smoke"), [f"dropout_mask={mode}"]).base
        params = model.init(jax.random.PRNGKey(0), tasks.task_of(cfg), cfg.d_model, cfg.n_heads, cfg.depth)
        logits = np.asarray(train.train_logits(params, x, jax.random.PRNGKey(3), 0.5, cfg))
        assert len({tuple(np.round(row, 5)) for row in logits}) == distinct, mode
