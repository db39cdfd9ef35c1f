"""Known answers for the per-sub-task analysis (docs/per-subtask.md)."""

import numpy as np
import pytest

from miiii import model, tasks
from miiii.analysis import subtask_features as sf
from miiii.analysis import subtasks as st
from miiii.analysis.activations import run_with_cache
from miiii.config import Config


def _grid(p):
    return np.meshgrid(np.arange(p), np.arange(p), indexing="ij")


def test_x1_frequency_is_the_labels():
    # label = (x0 + p x1) mod q; its class-c readout cos(2 pi k (n - c) / q) lies in (q, k)'s grid span.
    p = 23
    x0, x1 = _grid(p)
    pairs = sf.subtask_pairs(p)
    assert sf.x1_freq(7, 2, p) == 3 and sf.x1_freq(2, 1, p) == 1  # r = 23 mod 7 = 2: 2 * 2 = 4 -> fold 3
    for q, k in [(2, 1), (7, 2), (11, 4), (19, 9)]:
        g = np.stack([np.cos(2 * np.pi * k * (x0 + p * x1 - c) / q) for c in range(q)])
        fr = sf.neuron_fractions(g)
        assert np.all(fr.argmax(1) == pairs.index((q, k)))
        np.testing.assert_allclose(fr[:, pairs.index((q, k))], 1.0, atol=1e-9)


def test_neuron_fractions_are_the_least_squares_fit():
    # The brief's design matrix, centred, fitted by lstsq: the fraction of variance it explains.
    p, rng = 23, np.random.default_rng(0)
    g = rng.normal(size=(3, p, p))
    g[1] = 0.0  # dead
    x0, x1 = _grid(p)
    fr = sf.neuron_fractions(g)
    pairs = sf.subtask_pairs(p)
    for q, k in [(2, 1), (7, 2), (19, 4)]:
        a, b = 2 * np.pi * k * x0 / q, 2 * np.pi * sf.x1_freq(q, k, p) * x1 / q
        x = np.stack([np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(a) * np.cos(b), np.cos(a) * np.sin(b),
                      np.sin(a) * np.cos(b), np.sin(a) * np.sin(b)], -1).reshape(p * p, 8)
        x -= x.mean(0)
        for n in (0, 2):
            y = (g[n] - g[n].mean()).ravel()
            fit = x @ np.linalg.lstsq(x, y, rcond=None)[0]
            assert fr[n, pairs.index((q, k))] == pytest.approx(fit @ fit / (y @ y), abs=1e-12)
    assert (fr[1] == 0).all()


def test_token_bases_and_overlaps():
    p = 23
    pairs, b, owner = sf.feature_bases(p)
    np.testing.assert_allclose(b.T @ np.ones(p), 0, atol=1e-12)  # centred: the mean token is no feature
    for i in range(len(pairs)):
        bi = b[:, owner == i]
        np.testing.assert_allclose(bi.T @ bi, np.eye(bi.shape[1]), atol=1e-12)
    assert (owner == pairs.index((2, 1))).sum() == 1  # parity: one column
    o = sf.token_overlap(p)
    np.testing.assert_allclose(np.diag(o), 1.0)
    np.testing.assert_allclose(o, o.T)
    i = pairs.index((7, 2))
    # The brief's 90 % / 76 % are the first principal angle's cos^2; the mean of both is lower.
    assert o[i, pairs.index((17, 5))] == pytest.approx(0.883, abs=1e-3)
    assert o[i, pairs.index((11, 3))] == pytest.approx(0.740, abs=1e-3)
    assert sf.alias_lists(o, pairs)[(7, 2)] == [(17, 5), (11, 3)]
    g = sf.grid_overlap(p)
    qs = np.array([q for q, _ in pairs])
    assert g[np.not_equal.outer(qs, qs)].max() < 0.5  # the grid features have no alias at p = 23


def test_a_period_7_embedding_is_found_with_its_aliases():
    p, rng = 113, np.random.default_rng(1)
    x = np.arange(p)
    w = 0.3 * rng.normal(size=(p, 32))
    w += np.outer(np.cos(2 * np.pi * 2 * x / 7), rng.normal(size=32)) + np.outer(np.sin(2 * np.pi * 2 * x / 7),
                                                                                  rng.normal(size=32))
    t = st.subtask_key_test(w)
    assert (7, 2) in t["keys"]
    others = [pq for pq in t["keys"] if pq != (7, 2)]
    assert others and set(others) <= set(t["aliases"][(7, 2)])  # at p = 113 the energy alone is ambiguous
    assert set(t["ambiguous"][(7, 2)]) == set(others)


@pytest.mark.parametrize("p,seed", [(23, 0), (23, 1), (29, 2), (29, 3)])
def test_noise_has_no_key_pair(p, seed):
    w = np.random.default_rng(seed).normal(size=(p, 16))
    assert st.subtask_key_test(w)["keys"] == []


def test_energy_is_the_projection():
    p, rng = 23, np.random.default_rng(0)
    w = rng.normal(size=(p, 5))
    pairs, b, owner = sf.feature_bases(p)
    e = st.subtask_energy(w)
    i = pairs.index((5, 2))
    bi = b[:, owner == i]
    assert e[i] == pytest.approx(np.linalg.norm(bi @ (bi.T @ w)) ** 2)


def _nanda_net(p=23, q=7, k=2, seed=0):
    """One block solving sub-task q with period-q features (Nanda et al.'s algorithm, by hand).

    Residual dims: 0-1 token cos/sin(2 pi k x / q), 2-3 token cos/sin(2 pi k r x / q), 4-6 the
    positions, 7-8 head 0's copy of x0's 0-1, 9-10 head 1's copy of x1's 2-3, 11-12 the MLP's
    cos/sin(2 pi k (x0 + r x1) / q). Random ReLU neurons read 7-10 (bias from the `=` position);
    W_out is their least-squares readout of 11-12; W_U[11:13] reads cos(2 pi k (x0 + r x1 - c) / q).
    """
    cfg = Config.make(p=p, d_model=32, n_heads=2)
    task = tasks.task_of(cfg)
    r, d, dh, rng = p % q, 32, 16, np.random.default_rng(seed)
    x = np.arange(p)
    pr = {name: np.zeros(shape) for name, shape in model.param_shapes(p + 1, d, 2, 1, task.n_out).items()}
    pr["W_E"][:p, :4] = np.stack([np.cos(2 * np.pi * k * x / q), np.sin(2 * np.pi * k * x / q),
                                  np.cos(2 * np.pi * k * r * x / q), np.sin(2 * np.pi * k * r * x / q)], 1)
    pr["W_pos"][[0, 1, 2], [4, 5, 6]] = 1.0
    big = np.sqrt(40 * np.sqrt(dh))  # score 40 on the chosen position, 0 elsewhere
    for h in (0, 1):
        pr["blocks.0.attn.W_Q"][h, 6, 0] = big
        pr["blocks.0.attn.W_K"][h, 4 + h, 0] = big
        pr["blocks.0.attn.W_V"][h, [2 * h, 2 * h + 1], [0, 1]] = 1.0
        pr["blocks.0.attn.W_O"][h, [0, 1], [7 + 2 * h, 8 + 2 * h]] = 1.0
    pr["blocks.0.mlp.W_in"][7:11] = rng.normal(size=(4, 4 * d))
    pr["blocks.0.mlp.W_in"][6] = 0.3 * rng.normal(size=4 * d)
    _, cache = run_with_cache(pr, p)
    post = cache["blocks.0.mlp.hook_post"][:, 0, :].astype(np.float64)
    x0, x1 = _grid(p)
    ph = (2 * np.pi * k * (x0 + r * x1) / q).reshape(-1)
    pr["blocks.0.mlp.W_out"][:, 11:13] = np.linalg.lstsq(post, np.stack([np.cos(ph), np.sin(ph)], 1), rcond=None)[0]
    off = task.offsets[task.subtasks.index(q)]
    c = np.arange(q)
    pr["W_U"][11, off:off + q] = 20 * np.cos(2 * np.pi * k * c / q)
    pr["W_U"][12, off:off + q] = 20 * np.sin(2 * np.pi * k * c / q)
    return {n: v.astype(np.float32) for n, v in pr.items()}, cfg


@pytest.fixture(scope="module")
def nanda_net():
    params, cfg = _nanda_net()
    return params, cfg, st.per_subtask(params, cfg), run_with_cache(params, cfg.p)


def test_the_hand_built_network_solves_its_subtask(nanda_net):
    params, cfg, per, (logits, _) = nanda_net
    y = tasks.targets(cfg)[:, cfg.primes.index(7)]
    assert (logits[:, 10:17].argmax(1) == y).all()
    assert per["7"]["loss"] < 1e-3


def test_its_neurons_serve_that_subtask(nanda_net):
    params, cfg, per, (_, cache) = nanda_net
    live = int((cache["blocks.0.mlp.hook_post"][:, 0].std(0) > 0).sum())
    assert per["7"]["neurons"] >= 0.9 * live
    assert set(per["7"]["neuron_freqs"]) == {"2"}
    assert per["7"]["neurons_by_attribution"] == live  # W_U reads nothing else
    assert all(per[q]["neurons"] == 0 and per[q]["neurons_by_attribution"] == 0 for q in per if q != "7")
    assert per["7"]["shared_neurons"] == 0
    assert 2 in per["7"]["key_freqs"] and sf.x1_freq(7, 2, cfg.p) in per["7"]["key_freqs"]  # W_E: k and fold(k r)
    # At p = 23 W_E's keys alias other sub-tasks' (11, 3), (17, 5), ...; the neurons settle them.
    assert per["7"]["ambiguous"]["2"] and per["7"]["resolved"] == {"2": True, "3": True}
    assert "0 of 1 grokked sub-tasks have their own" in st.read_one_basis(per, [7])
    assert "1 an ambiguous one that their neurons settle" in st.read_one_basis(per, [7])
    assert st.read_one_basis(per, [7]).endswith("is supported")


def test_restricted_loss_keeps_and_excluded_loss_removes_it(nanda_net):
    per = nanda_net[2]
    s = per["7"]
    assert s["restricted_loss"] == pytest.approx(s["loss"], abs=1e-3)
    assert s["excluded_loss"] == pytest.approx(1.0, abs=0.02)  # chance, after / ln q
    assert per["11"]["restricted_loss"] == pytest.approx(1.0, abs=1e-6)  # all-zero logits: chance either way


def test_restricted_excluded_spans():
    p, q, k = 23, 5, 2
    x0, x1 = _grid(p)
    y = (x0 + p * x1) % q
    z = np.stack([8 * np.cos(2 * np.pi * k * (x0 + p * x1 - c) / q) for c in range(q)], -1)
    for span in ("full", "label"):
        res, exc = sf.restricted_excluded(z, y, q, [k], p, span=span)
        assert res == pytest.approx(sf.cross_entropy(z.reshape(-1, q), y.ravel()), abs=1e-9)
        assert exc == pytest.approx(1.0, abs=1e-4)  # only the per-class means (p^2 is no multiple of q) stay
    full = sf.cross_entropy(z.reshape(-1, q), y.ravel())
    res, exc = sf.restricted_excluded(z, y, q, [1], p)  # the wrong frequency explains nothing
    assert full < 0.01 and res == pytest.approx(1.0, abs=2e-3) and exc == pytest.approx(full, abs=1e-3)


def test_logits_split_into_rest_and_neurons():
    cfg = Config.make(p=23, d_model=32, n_heads=2)
    task = tasks.task_of(cfg)
    rng = np.random.default_rng(0)  # about model.init's scale; NumPy: jax.random compiles for seconds a shape
    params = {n: (rng.normal(size=sh) / np.sqrt(sh[-1] if n in ("W_E", "W_pos") else sh[-2])).astype(np.float32)
              for n, sh in model.param_shapes(cfg.p + 1, 32, 2, 1, task.n_out).items()}
    logits, cache = run_with_cache(params, cfg.p)
    rest, post, direct = st.logit_parts(params, cache)
    np.testing.assert_allclose(rest + post @ direct, logits, atol=1e-4)
    shares = st.neuron_attribution(params["blocks.0.mlp.W_out"], params["W_U"], task.n_classes)
    np.testing.assert_allclose(shares.sum(1), 1.0)
    # each sub-task's block: its own neurons' sum plus the rest, as above, block by block
    for off, q in zip(task.offsets, task.n_classes):
        np.testing.assert_allclose(rest[:, off:off + q] + post @ direct[:, off:off + q], logits[:, off:off + q],
                                   atol=1e-4)


def test_read_one_basis():
    base = {"key_freqs": [], "ambiguous": {}, "neurons": 0, "shared_neurons": 0}
    per = {"2": base | {"key_freqs": [1], "ambiguous": {"1": []}, "neurons": 3},
           "3": base | {"key_freqs": [1], "ambiguous": {"1": [[5, 2]]}, "neurons": 2, "shared_neurons": 1},
           "5": dict(base),
           "7": base | {"key_freqs": [2], "ambiguous": {"2": [[17, 5]]}, "resolved": {"2": True}}}
    line = st.read_one_basis(per, [2, 3, 5, 7])
    assert line.startswith("1 of 4 grokked sub-tasks have their own")
    assert "1 an ambiguous one that their neurons settle, 1 only ambiguous ones, 1 none; 2 have neurons" in line
    assert "1 of those share" in line
    assert line.endswith("partly supported")
    assert "cannot" in st.read_one_basis(per, [])
