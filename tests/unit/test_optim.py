import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from miiii.optim import grokfast_ema, grokfast_ma, make_optimizer

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


@pytest.mark.parametrize("filter", ["ema", "ma"])
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
