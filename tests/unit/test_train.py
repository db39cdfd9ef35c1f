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


@pytest.mark.parametrize("change", [{}, {"readout": "first"}, {"depth": 2}, {"depth": 2, "readout": "first"},
                                    {"task": "nanda"}, {"dropout_mask": "batch"}])
def test_train_logits_are_the_model_forward_under_the_steps_masks(change):
    """Training's logits are model.forward's, with no dropout and with the masks drawn from the step's key."""
    import jax
    import jax.numpy as jnp

    from miiii import model, tasks

    cfg = preset("smoke").replace(**change)
    params = model.init(jax.random.PRNGKey(1), tasks.task_of(cfg), cfg.d_model, cfg.n_heads, cfg.depth)
    x = jnp.asarray(tasks.inputs(cfg.p))
    at = model.readout_position(cfg.readout)
    ref = jax.vmap(lambda xi: model.forward(params, xi, readout=at)[0])(x)
    np.testing.assert_array_equal(train.train_logits(params, x, None, 0.3, cfg), ref)
    np.testing.assert_array_equal(train.train_logits(params, x, jax.random.PRNGKey(2), 0.0, cfg), ref)  # rate 0

    batch = cfg.dropout_mask == "batch"
    masks = model.dropout_masks(jax.random.PRNGKey(2), 0.3, cfg.depth, cfg.d_model, None if batch else x.shape[0])
    drop = jax.vmap(lambda xi, m: model.forward(params, xi, m, 0.3, readout=at)[0],
                    in_axes=(0, None if batch else 0))(x, masks)
    got = train.train_logits(params, x, jax.random.PRNGKey(2), 0.3, cfg)
    np.testing.assert_allclose(got, drop, atol=1e-6, rtol=0)
    assert not np.allclose(got, ref)


def test_run_groups_split_the_runs_into_near_equal_ranges():
    assert train.run_groups(21, 3) == [(0, 3), (3, 6), (6, 9), (9, 12), (12, 15), (15, 18), (18, 21)]
    assert train.run_groups(5, 3) == [(0, 3), (3, 5)]
    assert train.run_groups(13, 4) == [(0, 4), (4, 7), (7, 10), (10, 13)]
    assert train.run_groups(2, 3) == [(0, 2)]
    assert train.run_groups(1) == [(0, 1)]


def test_training_runs_in_groups_equals_training_them_at_once():
    grid = parse_overrides(preset("smoke"), ["epochs=24", "seed=0,1,2,3,4", "dropout=0.2"])
    s = train.setup(grid)
    out = {}
    for per_call in (2, 5):  # groups (0, 2), (2, 4), (4, 5) against one program
        t = train.Trainer(s, per_call=per_call)
        state, logs = train.init_state(s), t.empty_logs()
        for start, end in zip([0] + train.chunk_ends(s.cfg, 0)[:-1], train.chunk_ends(s.cfg, 0)):
            state, logs = t.run(state, logs, start, end)
        out[per_call] = (t.groups, state, logs)
    assert out[2][0] == [(0, 2), (2, 4), (4, 5)] and out[5][0] == [(0, 5)]
    # parameters, optimiser state, metrics and gradient norms agree to float32 rounding (omega
    # counts are left out: a neuron whose power sits at the threshold flips with any rounding)
    (state2, logs2), (state5, logs5) = out[2][1:], out[5][1:]
    for a, b in zip(jax_leaves((state2, logs2.metrics, logs2.grad_norms)),
                    jax_leaves((state5, logs5.metrics, logs5.grad_norms))):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    assert np.asarray(logs2.omega).shape == np.asarray(logs5.omega).shape
    # resumed half-way in a fresh Trainer (as after a kill), the grouped run is bit-identical
    t = train.Trainer(s, per_call=2)
    state, logs = train.init_state(s), t.empty_logs()
    ends = train.chunk_ends(s.cfg, 0)
    for i, (start, end) in enumerate(zip([0] + ends[:-1], ends)):
        if i == len(ends) // 2:
            t = train.Trainer(s, per_call=2)
        state, logs = t.run(state, logs, start, end)
    for a, b in zip(jax_leaves((state, logs)), jax_leaves((state2, logs2))):
        np.testing.assert_array_equal(a, b)


def jax_leaves(tree):
    import jax

    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_delay_is_mask_until_delay_epochs_then_the_full_loss():
    """A curriculum: with delay=3 for 5 epochs the first 5 steps are those of mask=3, and step 6
    is the full loss's (its gradient differs from mask=3's)."""
    base = preset("smoke").replace(epochs=6, dropout=0.0, chunk=8)
    delayed = train.train(parse_overrides(base, ["delay=3", "delay_epochs=5", "epochs=5"]))[0]
    masked = train.train(parse_overrides(base, ["mask=3", "epochs=5"]))[0]
    for k in delayed.params:
        np.testing.assert_allclose(delayed.params[k], masked.params[k], rtol=1e-5, atol=1e-7)
    s = train.setup(parse_overrides(base, ["delay=3", "delay_epochs=5"]))
    d, h = jax_tree_first(s.data), jax_tree_first(s.hyper)
    i = list(s.task.subtasks).index(3)
    assert float(train.loss_weights(d, h, 5)[i]) == 0.0 and float(train.loss_weights(d, h, 6)[i]) == 1.0


def jax_tree_first(tree):
    import jax

    return jax.tree.map(lambda x: x[0], tree)


def test_init_scale_and_q_power():
    import jax.numpy as jnp

    from miiii import tasks

    grid = parse_overrides(preset("smoke"), ["init_scale=1,0.5"])
    st = train.init_state(train.setup(grid))
    for w in st.params.values():
        np.testing.assert_allclose(w[1], 0.5 * w[0], rtol=1e-6)  # same seed, half the scale
    cfg = preset("smoke").replace(q_power=1.0, mask=(2,))
    np.testing.assert_allclose(tasks.loss_weights(cfg), [0, 3, 5, 7])
    assert jnp.allclose(tasks.loss_weights(preset("smoke")), 1.0)


def test_ema3_trains_per_run_and_lambda_mid_moves_the_run():
    """filter=ema3 through the training path: lambda_mid is a per-run scalar that reaches the
    optimiser (lambda_mid = 0 being GrokFast-EMA bit for bit is test_optim's)."""
    three = parse_overrides(preset("smoke"), ["epochs=3", "dropout=0", "filter=ema3", "lambda_mid=0,-1"])
    _, logs, s = train.train(three, record_omega=False)
    m = np.asarray(logs.metrics)
    assert [r.lambda_mid for r in s.runs] == [0.0, -1.0]
    np.testing.assert_array_equal(m[0, 0], m[0, 1])  # epoch 0: the same initial parameters
    assert np.abs(m[-1, 1] - m[-1, 0]).max() > 1e-4  # damping the middle band changes the run
