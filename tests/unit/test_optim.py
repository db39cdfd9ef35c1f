import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from miiii.optim import grokfast_ema, grokfast_ema3, grokfast_ma, make_optimizer

G1 = {"w": jnp.array([1.0, -2.0, 3.0]), "b": jnp.array([[0.5]])}
G2 = {"w": jnp.array([-1.0, 4.0, 0.0]), "b": jnp.array([[2.0]])}


def test_ema_closed_form_two_steps():
    lam, a = 0.7, 0.9
    tx = grokfast_ema(lam, a)
    st = tx.init(G1)
    u1, st = tx.update(G1, st)
    u2, st = tx.update(G2, st)
    for k in G1:
        e1 = G1[k]  # the EMA starts from the first gradient, not zero
        e2 = a * e1 + (1 - a) * G2[k]
        np.testing.assert_allclose(u1[k], G1[k] + lam * e1, rtol=1e-6)
        np.testing.assert_allclose(u2[k], G2[k] + lam * e2, rtol=1e-6)


def test_ema_from_zero_closed_form_two_steps():
    """The study's code: the EMA starts at zero, so the first step carries (1 - alpha) g_1."""
    lam, a = 0.7, 0.9
    tx = grokfast_ema(lam, a, from_zero=True)
    st = tx.init(G1)
    u1, st = tx.update(G1, st)
    u2, st = tx.update(G2, st)
    for k in G1:
        e1 = (1 - a) * G1[k]
        e2 = a * e1 + (1 - a) * G2[k]
        np.testing.assert_allclose(u1[k], G1[k] + lam * e1, rtol=1e-6)
        np.testing.assert_allclose(u2[k], G2[k] + lam * e2, rtol=1e-6)


@pytest.mark.parametrize("from_zero", [False, True])
def test_ema3_closed_form_two_steps(from_zero):
    """Three bands: g + lam e + lam_mid (m - e), e and m two EMAs started alike."""
    lam, a, lam_m, a_m = 0.7, 0.9, -0.6, 0.5
    tx = grokfast_ema3(lam, a, lam_m, a_m, from_zero=from_zero)
    st = tx.init(G1)
    u1, st = tx.update(G1, st)
    u2, st = tx.update(G2, st)
    for k in G1:
        e1, m1 = ((1 - a) * G1[k], (1 - a_m) * G1[k]) if from_zero else (G1[k], G1[k])
        e2, m2 = a * e1 + (1 - a) * G2[k], a_m * m1 + (1 - a_m) * G2[k]
        np.testing.assert_allclose(u1[k], G1[k] + lam * e1 + lam_m * (m1 - e1), rtol=1e-6)
        np.testing.assert_allclose(u2[k], G2[k] + lam * e2 + lam_m * (m2 - e2), rtol=1e-6, atol=1e-7)
        assert np.abs(m2 - e2).max() > 0.1  # the bands part at step 2: the check has teeth
    # lam_mid = 0 is GrokFast-EMA, bit for bit
    ema, three = grokfast_ema(lam, a, from_zero), grokfast_ema3(lam, a, 0.0, a_m, from_zero)
    s1, s3 = ema.init(G1), three.init(G1)
    for g in (G1, G2, G1):
        v1, s1 = ema.update(g, s1)
        v3, s3 = three.update(g, s3)
        for k in g:
            np.testing.assert_array_equal(v1[k], v3[k])


def test_ma_closed_form_two_steps_and_window():
    lam = 2.0
    tx = grokfast_ma(lam, window=2)
    st = tx.init(G1)
    u1, st = tx.update(G1, st)
    u2, st = tx.update(G2, st)
    u3, st = tx.update(G1, st)
    for k in G1:
        np.testing.assert_allclose(u1[k], G1[k] + lam * G1[k], rtol=1e-6)
        np.testing.assert_allclose(u2[k], G2[k] + lam * (G1[k] + G2[k]) / 2, rtol=1e-6)
        np.testing.assert_allclose(u3[k], G1[k] + lam * (G2[k] + G1[k]) / 2, rtol=1e-6)  # G1 fell out


@pytest.mark.parametrize("filter", ["ema", "ema3", "ma"])
def test_lambda_zero_is_exactly_adamw(filter):
    params = {"w": jnp.array([0.3, -0.2, 1.0]), "b": jnp.array([[0.1]])}
    ours = make_optimizer(filter, 1e-2, 0.5, 0.0, 0.98, window=3)
    ref = optax.adamw(1e-2, b1=0.9, b2=0.98, weight_decay=0.5)
    p1, p2 = params, params
    s1, s2 = ours.init(params), ref.init(params)
    for g in (G1, G2, G1):
        u1, s1 = ours.update(g, s1, p1)
        u2, s2 = ref.update(g, s2, p2)
        p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
    for k in params:
        np.testing.assert_array_equal(p1[k], p2[k])


def test_lambda_can_be_traced_under_vmap():
    lams = jnp.array([0.0, 1.0])
    def run(lam):
        tx = grokfast_ema(lam, 0.5)
        u, _ = tx.update(G1, tx.init(G1))
        return u["w"]
    out = jax.vmap(run)(lams)
    np.testing.assert_allclose(out[0], G1["w"])
    np.testing.assert_allclose(out[1], 2 * G1["w"])


# ---- the accelerators, against closed forms -------------------------------------------------------

from miiii.optim import muon_dims, perp_grad, warmup_schedule  # noqa: E402

W = {"w": jnp.array([1.0, 2.0, -1.0]), "b": jnp.array([[2.0]])}


def _perp(g: np.ndarray, w: np.ndarray, s: float) -> np.ndarray:
    return g - s * (g.ravel() @ w.ravel()) / (w.ravel() @ w.ravel()) * w


@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_perp_grad_closed_form(strength):
    tx = perp_grad(strength)
    u, _ = tx.update(G1, tx.init(W), W)
    for k in W:
        np.testing.assert_allclose(u[k], _perp(np.asarray(G1[k]), np.asarray(W[k]), strength), rtol=1e-6)
    if strength == 1.0:  # nothing left along the weight
        assert abs(float(jnp.vdot(u["w"], W["w"]))) < 1e-5 and abs(float(u["b"][0, 0])) < 1e-6


def test_perp_adamw_two_steps_closed_form():
    """⊥Grad, then AdamW (lambda 0, no weight decay), two steps, against NumPy written out."""
    lr, b1, b2, eps = 1e-2, 0.9, 0.98, 1e-8
    tx = make_optimizer("none", lr, 0.0, 0.0, 0.98, grad_perp=1.0)
    p, st = W, tx.init(W)
    ref = {k: np.asarray(v, np.float64) for k, v in W.items()}
    m = {k: np.zeros_like(v) for k, v in ref.items()}
    v = {k: np.zeros_like(x) for k, x in ref.items()}
    for t, g in enumerate((G1, G2), start=1):
        u, st = tx.update(g, st, p)
        p = optax.apply_updates(p, u)
        for k in ref:
            gp = _perp(np.asarray(g[k], np.float64), ref[k], 1.0)
            m[k] = b1 * m[k] + (1 - b1) * gp
            v[k] = b2 * v[k] + (1 - b2) * gp**2
            ref[k] = ref[k] - lr * (m[k] / (1 - b1**t)) / (np.sqrt(v[k] / (1 - b2**t)) + eps)
    for k in ref:
        np.testing.assert_allclose(p[k], ref[k], rtol=1e-5, atol=1e-6)


def test_warmup_schedule_and_its_absence():
    f = warmup_schedule(0.3, 3)
    np.testing.assert_allclose([f(c) for c in range(5)], [0.1, 0.2, 0.3, 0.3, 0.3], rtol=1e-6)
    assert float(warmup_schedule(0.3, 0)(0)) == pytest.approx(0.3)
    # cosine decay of half the lr over 4 steps: 0.15 + 0.075 (1 + cos(pi t / 4)), then 0.15
    g = warmup_schedule(0.3, 0, 0.5, 4)
    ref = [0.15 + 0.075 * (1 + np.cos(np.pi * t / 4)) for t in range(4)] + [0.15, 0.15]
    np.testing.assert_allclose([g(c) for c in range(6)], ref, rtol=1e-6)
    # warm-up 3 with AdamW: the first step is a third of the constant-lr step (Adam's first step is lr·sign(g))
    tx = make_optimizer("none", 0.3, 0.0, 0.0, 0.98, warmup=3)
    u, _ = tx.update(G1, tx.init(W), W)
    np.testing.assert_allclose(u["w"], -0.1 * np.sign(G1["w"]), rtol=1e-5)


def test_muon_orthogonalises_hidden_matrices_and_adams_the_embeddings():
    """optax.contrib.muon through make_optimizer: a hidden matrix's first step is close to the polar
    factor -U V^T of its gradient (scaled); W_E's is the first step of muon's own Adam branch, which
    shares Muon's Nesterov momentum: -lr (1 + b1 (1 - b1) / (1 - b1^2)) sign(g)."""
    rng = np.random.default_rng(0)
    params = {"W_E": jnp.asarray(rng.normal(size=(12, 8)), jnp.float32),
              "blocks.0.mlp.W_in": jnp.asarray(rng.normal(size=(8, 32)), jnp.float32),
              "blocks.0.attn.W_Q": jnp.asarray(rng.normal(size=(2, 8, 4)), jnp.float32)}
    # a gradient with very unequal singular values
    def spread(shape):  # U diag(s) V^T with singular values from 0.01 to 3, per leading slice
        out = []
        for _ in range(int(np.prod(shape[:-2]))):
            m, n = shape[-2:]
            uu, _ = np.linalg.qr(rng.normal(size=(m, m)))
            vv, _ = np.linalg.qr(rng.normal(size=(n, n)))
            k = min(m, n)
            out.append(uu[:, :k] @ np.diag(np.geomspace(0.01, 3, k)) @ vv[:, :k].T)
        return jnp.asarray(np.reshape(out, shape), jnp.float32)

    grads = {k: spread(v.shape) for k, v in params.items()}
    dims = muon_dims(params)
    assert dims["W_E"] is None and dims["blocks.0.mlp.W_in"] is not None
    lr = 1e-2
    tx = make_optimizer("none", lr, 0.0, 0.0, 0.98, optimizer="muon")
    u, _ = tx.update(grads, tx.init(params), params)
    b1 = 0.9
    np.testing.assert_allclose(u["W_E"], -lr * (1 + b1 * (1 - b1) / (1 - b1**2)) * np.sign(grads["W_E"]), rtol=1e-4)

    def polar(g: np.ndarray) -> np.ndarray:
        uu, _, vt = np.linalg.svd(g, full_matrices=False)
        return uu @ vt

    for name in ("blocks.0.mlp.W_in", "blocks.0.attn.W_Q"):
        g = np.asarray(grads[name]).reshape(-1, *grads[name].shape[-2:])
        step = np.asarray(u[name]).reshape(g.shape)
        for gi, si in zip(g, step):
            ref = -polar(gi)
            cos = (si * ref).sum() / np.linalg.norm(si) / np.linalg.norm(ref)
            assert cos > 0.9  # Newton–Schulz approximates the polar factor ...
            sv = np.linalg.svd(si, compute_uv=False)
            assert sv.max() / sv.min() < 5  # ... so the step's singular values are near-equal
            assert np.linalg.svd(gi, compute_uv=False).max() / np.linalg.svd(gi, compute_uv=False).min() > 10
