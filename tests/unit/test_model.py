import jax
import jax.numpy as jnp
import numpy as np
import pytest

from miiii import model, tasks
from miiii.config import Config


def reference_logits(params: dict, x: np.ndarray) -> np.ndarray:
    """Independent NumPy transformer computing EVERY position (causal), read at the last."""
    P = {k: np.asarray(v, np.float64) for k, v in params.items()}
    depth = sum(k.endswith("W_Q") for k in P)
    out = []
    for seq in x:
        r = P["W_E"][seq] + P["W_pos"]
        for layer in range(depth):
            b = f"blocks.{layer}."
            heads = []
            for h in range(P[b + "attn.W_Q"].shape[0]):
                q, k, v = (r @ P[b + f"attn.W_{m}"][h] for m in "QKV")
                s = q @ k.T / np.sqrt(q.shape[-1])
                s = np.where(np.tril(np.ones((3, 3))) > 0, s, -np.inf)
                a = np.exp(s - s.max(-1, keepdims=True))
                a /= a.sum(-1, keepdims=True)
                heads.append(a @ v @ P[b + "attn.W_O"][h])
            r = r + sum(heads)
            r = r + np.maximum(r @ P[b + "mlp.W_in"], 0) @ P[b + "mlp.W_out"]
        out.append(r[-1] @ P["W_U"])
    return np.array(out)


@pytest.mark.parametrize("depth", [1, 2])
def test_forward_matches_full_position_reference(depth):
    cfg = Config.make(p=11, d_model=16, n_heads=2, depth=depth)
    task = tasks.task_of(cfg)
    params = model.init(jax.random.PRNGKey(1), task, 16, 2, depth)
    x = tasks.inputs(11)[::7]
    logits, _ = model.batched_forward(params, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(logits), reference_logits(params, x), rtol=2e-4, atol=2e-5)


def test_shapes_and_cache_names():
    cfg = Config.make(p=13, d_model=32, n_heads=4)
    task = tasks.task_of(cfg)
    params = model.init(jax.random.PRNGKey(0), task, 32, 4, 1)
    assert params["W_E"].shape == (14, 32) and params["W_pos"].shape == (3, 32)
    assert params["blocks.0.attn.W_Q"].shape == (4, 32, 8)
    assert params["blocks.0.attn.W_O"].shape == (4, 8, 32)
    assert params["blocks.0.mlp.W_in"].shape == (32, 128)
    assert params["W_U"].shape == (32, sum(task.n_classes))
    logits, cache = model.forward(params, jnp.array([1, 2, 13]), with_cache=True)
    assert logits.shape == (task.n_out,)
    assert cache["blocks.0.attn.hook_pattern"].shape == (4, 1, 3)
    np.testing.assert_allclose(cache["blocks.0.attn.hook_pattern"].sum(-1), 1.0, rtol=1e-6)
    assert cache["blocks.0.mlp.hook_post"].shape == (1, 128)
    assert cache["hook_embed"].shape == (3, 32)


def test_init_scale_is_one_over_fan_in():
    task = tasks.task_of(Config.make(p=31))
    params = model.init(jax.random.PRNGKey(0), task, 256, 4, 1)
    assert float(jnp.std(params["blocks.0.mlp.W_in"])) == pytest.approx(256**-0.5, rel=0.02)
    assert float(jnp.std(params["blocks.0.mlp.W_out"])) == pytest.approx(1024**-0.5, rel=0.02)


def test_study_init_is_glorot_normal():
    task = tasks.task_of(Config.make(p=31))
    params = model.init(jax.random.PRNGKey(0), task, 256, 4, 1, "study")
    assert float(jnp.std(params["W_E"])) == pytest.approx((2 / (32 + 256)) ** 0.5, rel=0.03)
    assert float(jnp.std(params["blocks.0.mlp.W_in"])) == pytest.approx((2 / (256 + 1024)) ** 0.5, rel=0.02)
    with pytest.raises(ValueError, match="init"):
        model.init(jax.random.PRNGKey(0), task, 256, 4, 1, "he")


def test_readout_first_reads_the_first_position_and_sees_every_token():
    """The study's code reads the logits at position 0; with one block that query attends to all three."""
    task = tasks.task_of(Config.make(p=11))
    params = model.init(jax.random.PRNGKey(1), task, 32, 2, 1)
    x = jnp.array([3, 4, 11])
    first, cache = model.forward(params, x, readout=0, with_cache=True)
    eq, _ = model.forward(params, x)
    assert not np.allclose(first, eq)
    pattern = cache["blocks.0.attn.hook_pattern"]  # (heads, 1 query, 3 keys)
    assert pattern.shape == (2, 1, 3) and float(pattern[:, 0, 1:].min()) > 0
    # the same logits by hand: embed, attention from position 0 over all tokens, MLP, unembed
    r = params["W_E"][x] + params["W_pos"]
    q = jnp.einsum("d,hde->he", r[0], params["blocks.0.attn.W_Q"])
    k = jnp.einsum("kd,hde->hke", r, params["blocks.0.attn.W_K"])
    v = jnp.einsum("kd,hde->hke", r, params["blocks.0.attn.W_V"])
    a = jax.nn.softmax(jnp.einsum("he,hke->hk", q, k) / np.sqrt(16), -1)
    mid = r[0] + jnp.einsum("hk,hke,hed->d", a, v, params["blocks.0.attn.W_O"])
    out = mid + jax.nn.relu(mid @ params["blocks.0.mlp.W_in"]) @ params["blocks.0.mlp.W_out"]
    np.testing.assert_allclose(first, out @ params["W_U"], rtol=1e-5, atol=1e-5)


def test_threefry_is_jax_threefry_bit_for_bit():
    import jax
    import jax.extend

    key = jax.random.PRNGKey(11)
    count = np.arange(2 * 5000, dtype=np.uint32)
    ref = np.asarray(jax.extend.random.threefry_2x32(key, count))  # halves: first words, second words
    a, b = model._threefry2x32(key[0], key[1], count[:5000], count[5000:])
    np.testing.assert_array_equal(np.concatenate([a, b]), ref)


def test_dropout_masks_are_independent_bernoulli_draws_of_the_key():
    import jax

    key = jax.random.PRNGKey(5)
    masks = model.dropout_masks(key, 0.2, 2, 128, 423)
    assert [m.shape for m in masks] == [(423, 3, 128), (423, 3, 128), (423, 128), (423, 128)]
    flat = [np.asarray(m, np.float64).reshape(423, -1) for m in masks]
    for m in flat:  # keep rate 0.8, within 4 standard errors
        assert abs(m.mean() - 0.8) < 4 * np.sqrt(0.16 / m.size)
    se = 4 / np.sqrt(flat[2].size)  # correlations between sites and between neighbouring examples
    assert abs(np.corrcoef(flat[2].ravel(), flat[3].ravel())[0, 1]) < se
    assert abs(np.corrcoef(flat[0][:, -128:].ravel(), flat[2].ravel())[0, 1]) < se
    assert abs(np.corrcoef(flat[2][:-1].ravel(), flat[2][1:].ravel())[0, 1]) < se
    again = model.dropout_masks(key, 0.2, 2, 128, 423)
    assert all(np.array_equal(m, n) for m, n in zip(masks, again))  # a function of the key
    other = model.dropout_masks(jax.random.PRNGKey(6), 0.2, 2, 128, 423)
    assert not np.array_equal(masks[2], other[2])
    assert all(np.asarray(m).all() for m in model.dropout_masks(key, 0.0, 2, 128, 423))  # rate 0 keeps all
    typed = model.dropout_masks(jax.random.wrap_key_data(key), 0.2, 2, 128, 423)
    assert np.array_equal(typed[3], masks[3])
    assert [m.shape for m in model.dropout_masks(key, 0.2, 1, 128, None)] == [(128,), (128,)]  # batch mode


def test_dropout_masks_differ_across_examples():
    task = tasks.task_of(Config.make(p=11))
    params = model.init(jax.random.PRNGKey(0), task, 64, 4, 1)
    x = jnp.tile(jnp.array([[3, 4, 11]]), (8, 1))  # the same example eight times
    key = jax.random.PRNGKey(5)
    masks = model.dropout_masks(key, 0.5, 1, 64, 8)
    logits = jax.vmap(lambda xi, m: model.forward(params, xi, m, 0.5)[0])(x, masks)
    # identical inputs, so any difference comes from per-example masks
    assert len({tuple(np.round(np.asarray(row), 5)) for row in logits}) == 8
    clean, _ = model.forward(params, x[0])
    shared = model.dropout_masks(key, 0.5, 1, 64, None)
    same = jax.vmap(lambda xi: model.forward(params, xi, shared, 0.5)[0])(x)
    np.testing.assert_allclose(same, same[0][None].repeat(8, 0))
    assert not np.allclose(logits[0], clean)
    # rate 0 keeps every element: exactly the eval forward
    kept = model.dropout_masks(key, 0.0, 1, 64, None)
    np.testing.assert_array_equal(model.forward(params, x[0], kept, 0.0)[0], clean)


def test_loss_is_normalised_by_log_classes():
    task = tasks.task_of(Config.make(p=11))
    logits = jnp.zeros((5, task.n_out))  # uniform guess on every sub-task
    y = jnp.zeros((5, len(task.subtasks)), jnp.int32)
    loss, acc = model.per_subtask_loss_acc(logits, y, task)
    np.testing.assert_allclose(loss, 1.0, rtol=1e-6)
    # a confident right answer costs ~0 and counts as correct
    big = jnp.zeros(task.n_out).at[jnp.asarray(task.offsets)].set(50.0)
    loss, acc = model.per_subtask_loss_acc(big[None], y[:1], task)
    assert float(loss.max()) < 1e-6 and float(acc.min()) == 1.0


def reference_loss_acc(logits: np.ndarray, y: np.ndarray, task) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straightforward NumPy (float64): each sub-task's slice, its log-softmax, the target's
    entry; also d(sum of losses)/d(logits) = (softmax - one-hot) / ln(classes) per slice."""
    z = np.asarray(logits, np.float64)
    loss = np.zeros(y.shape)
    acc = np.zeros(y.shape)
    grad = np.zeros_like(z)
    for s, (off, n) in enumerate(zip(task.offsets, task.n_classes)):
        zs = z[:, off:off + n]
        logp = zs - zs.max(-1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
        rows = np.arange(len(z))
        loss[:, s] = -logp[rows, y[:, s]] / np.log(n)
        acc[:, s] = zs.argmax(-1) == y[:, s]
        g = np.exp(logp)
        g[rows, y[:, s]] -= 1.0
        grad[:, off:off + n] = g / np.log(n)
    return loss, acc, grad


@pytest.mark.parametrize("task_name,p", [("miiii", 23), ("miiii", 113), ("nanda", 13), ("divisible", 17)])
def test_loss_acc_and_gradient_match_numpy_reference(task_name, p):
    task = tasks.task_of(Config.make(task=task_name, p=p))
    rng = np.random.default_rng(p)
    batch = 32
    # wide logits (softmax far from uniform, some near-certain) and random targets
    logits = (rng.standard_normal((batch, task.n_out)) * rng.choice([0.1, 3.0, 30.0], (batch, 1))).astype(np.float32)
    y = np.stack([rng.integers(0, n, batch) for n in task.n_classes], axis=1).astype(np.int32)
    f = jax.jit(lambda z, y: model.per_subtask_loss_acc(z, y, task))  # one compile, not op by op
    g = jax.jit(jax.grad(lambda z, y: model.per_subtask_loss_acc(z, y, task)[0].sum()))
    loss, acc = f(jnp.asarray(logits), jnp.asarray(y))
    grad = g(jnp.asarray(logits), jnp.asarray(y))
    ref_loss, ref_acc, ref_grad = reference_loss_acc(logits, y, task)
    assert loss.shape == acc.shape == y.shape
    np.testing.assert_allclose(np.asarray(loss), ref_loss, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(acc), ref_acc)
    np.testing.assert_allclose(np.asarray(grad), ref_grad, rtol=1e-5, atol=1e-6)


def test_loss_gradient_has_no_scatter():
    """The loss's backward stays dense: a gather on the padded (batch, sub-task, widest)
    layout has a scatter-add for gradient, which XLA constant-folds for over a second at
    p = 113 (the targets are compile-time constants in the training chunk)."""
    task = tasks.task_of(Config.make(p=113))
    y = jnp.zeros((4, len(task.subtasks)), jnp.int32)
    jaxpr = jax.make_jaxpr(jax.grad(lambda z: model.per_subtask_loss_acc(z, y, task)[0].sum()))(
        jnp.zeros((4, task.n_out)))
    assert "scatter" not in str(jaxpr)


def test_stablemax_closed_form_normalisation_and_gradient():
    z = jnp.array([[-2.0, 0.0, 1.5, 3.0]])
    s = np.array([1 / 3, 1.0, 2.5, 4.0])  # s(x) = x + 1 for x >= 0, 1 / (1 - x) below
    np.testing.assert_allclose(model.stablemax_log_probs(z)[0], np.log(s / s.sum()), rtol=1e-6)
    # d/dz_i of -log stablemax(z)_y: -s'(z_y)/s(z_y) [i = y] + s'(z_i) / sum s, s' = 1 or 1/(1-x)^2
    y = 2
    ds = np.array([1 / 9, 1.0, 1.0, 1.0])
    ref = ds / s.sum()
    ref[y] -= ds[y] / s[y]
    g = jax.grad(lambda v: -model.stablemax_log_probs(v)[0, y])(z)
    np.testing.assert_allclose(g[0], ref, rtol=1e-5)
    # the loss stays normalised: a uniform guess (all logits 0) costs 1 on every sub-task
    task = tasks.task_of(Config.make(p=11, d_model=8, n_heads=2))
    logits = jnp.zeros((3, task.n_out))
    y = jnp.zeros((3, len(task.subtasks)), jnp.int32)
    loss, _ = model.per_subtask_loss_acc(logits, y, task, "stablemax")
    np.testing.assert_allclose(loss, 1.0, rtol=1e-6)
    # unlike softmax, scaling correct logits up cannot send the loss to a float's zero quickly
    big = jnp.array([[0.0, 0.0, 60.0]])
    assert float(-model.stablemax_log_probs(big)[0, 2]) > 1e-3 > float(-jax.nn.log_softmax(big)[0, 2])
