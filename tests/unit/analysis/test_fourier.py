"""Known answers for the real Fourier basis and the key-frequency rule (docs/key-frequencies.md)."""

import jax
import numpy as np
import pytest
from scipy import stats

from miiii import model, tasks
from miiii.analysis import fourier
from miiii.config import Config


@pytest.mark.parametrize("p", [2, 5, 11, 12, 113])
def test_basis_is_orthonormal(p):
    b = fourier.fourier_basis(p)
    assert b.shape == (p, p)
    np.testing.assert_allclose(b @ b.T, np.eye(p), atol=1e-12)
    assert len(fourier.basis_freqs(p)) == len(fourier.basis_names(p)) == p


def test_basis_rows_are_the_named_waves():
    p, x = 7, np.arange(7)
    b, names = fourier.fourier_basis(p), fourier.basis_names(p)
    np.testing.assert_allclose(b[names.index("cos3")], np.cos(2 * np.pi * 3 * x / p) * np.sqrt(2 / p))
    np.testing.assert_allclose(b[names.index("sin2")], np.sin(2 * np.pi * 2 * x / p) * np.sqrt(2 / p))
    assert fourier.basis_freqs(p).tolist() == [0, 1, 1, 2, 2, 3, 3]


def test_fourier_2d_keeps_energy_and_finds_the_wave():
    p, rng = 13, np.random.default_rng(0)
    g = rng.normal(size=(3, p, p))
    np.testing.assert_allclose((fourier.fourier_2d(g) ** 2).sum((1, 2)), (g**2).sum((1, 2)))
    x0 = np.arange(p)[:, None] * np.ones(p)
    f = fourier.fourier_2d(np.cos(2 * np.pi * 4 * x0 / p)[None])[0]
    names = fourier.basis_names(p)
    big = np.argwhere(np.abs(f) > 1e-9)
    assert [(names[a], names[b]) for a, b in big] == [("cos4", "const")]


@pytest.mark.parametrize("p", [2, 7, 12, 23])
def test_shuffled_energies_are_those_of_the_shuffled_matrix(p):
    rng = np.random.default_rng(p)
    w, perms = rng.normal(size=(p, 5)), np.stack([np.arange(p)] + [rng.permutation(p) for _ in range(3)])
    got = fourier._shuffled_energies(w @ w.T, perms)
    np.testing.assert_allclose(got, [fourier.freq_energy(fourier.to_fourier(w[pi]))[1:] for pi in perms])


def _from_freqs(p, ks, d=48, seed=0, noise=0.0):
    x, rng = np.arange(p), np.random.default_rng(seed)
    w = sum(np.outer(np.cos(2 * np.pi * k * x / p + rng.uniform(0, 6.3)), rng.normal(size=d)) * rng.uniform(0.5, 2)
            for k in ks)
    return (w + noise * rng.normal(size=(p, d))).astype(np.float32)


@pytest.mark.parametrize("p,ks", [(11, [3]), (11, [1, 4]), (37, [2, 5, 17]), (113, [4, 32, 41, 43, 51]),
                                  (113, list(range(1, 41, 2)))])
def test_key_frequencies_of_a_w_e_built_from_them(p, ks):
    assert fourier.key_frequencies(_from_freqs(p, ks)) == sorted(ks)
    assert fourier.key_frequencies(_from_freqs(p, ks, noise=0.05, seed=1)) == sorted(ks)


@pytest.mark.parametrize("p,d", [(113, 256)])  # the study's size; smaller p: the calibration tests below
def test_untrained_model_has_no_key_frequencies(p, d):
    cfg = Config.make(p=p, d_model=d, n_heads=4)
    for seed in range(3):
        params = model.init(jax.random.PRNGKey(seed), tasks.task_of(cfg), d, 4, 1)
        w_e = np.asarray(params["W_E"])[:p]
        out = fourier.embedding_fourier(w_e)
        assert out["key_freqs"] == [] and len(out["norms"]) == p and len(out["freq_norms"]) == p // 2 + 1
        assert len(out["energy"]) == len(out["threshold"]) == p // 2
        assert max(np.asarray(out["energy"]) - out["threshold"]) < 0
        lo, hi = out["n_eff_null"]
        assert 0.8 * (p // 2) < lo <= hi <= p // 2 and out["n_eff"] > 0.8 * (p // 2)  # spread over all


def test_zero_matrix_has_none():
    assert fourier.key_frequencies(np.zeros((11, 8))) == []
    out = fourier.embedding_fourier(np.zeros((11, 8)))
    assert out["key_freqs"] == [] and out["n_eff"] == 0.0


def test_results_are_reproducible_and_alpha_needs_enough_permutations():
    w = np.random.default_rng(3).normal(size=(23, 16)) + _wave(23, 4, 16, 3.0, np.random.default_rng(4))
    a, b = fourier.embedding_fourier(w, alpha=0.05), fourier.embedding_fourier(w, alpha=0.05)
    assert a == b and a["key_freqs"] == [4]
    with pytest.raises(ValueError, match="n_perm"):
        fourier.key_frequencies(w, alpha=1e-3, n_perm=500)


def test_n_eff_counts_equal_frequencies_and_stands_below_its_null_interval():
    p, d, rng = 37, 64, np.random.default_rng(5)
    assert fourier.n_eff([0, 4.0, 0, 0]) == 1.0 and fourier.n_eff([1.0, 1.0, 2.0]) == pytest.approx(16 / 6)
    w = sum(_wave(p, k, d, 3.0, rng) for k in (2, 9, 14))  # three frequencies of equal energy, no noise
    out = fourier.embedding_fourier(w)
    assert out["n_eff"] == pytest.approx(3.0) and out["key_freqs"] == [2, 9, 14]
    out = fourier.embedding_fourier(w + rng.normal(size=(p, d)))
    assert out["n_eff"] < out["n_eff_null"][0] < out["n_eff_null"][1] <= p // 2


# --- calibration: power and false-positive rate (docs/key-frequencies.md) -------------------
ALPHA = 0.05  # the level of these tests; the default 1e-3 would need far more draws


def _wave(p, f, d, ratio, rng):
    """Frequency f with expected energy (ratio - 1) * 2 d: i.i.d. N(0, 1) noise has 2 d per frequency."""
    x, (u, v) = np.arange(p), rng.normal(size=(2, d))
    a = np.sqrt((ratio - 1) * 2 * d / p)
    return a * (np.outer(np.cos(2 * np.pi * f * x / p), u / np.linalg.norm(u))
                + np.outer(np.sin(2 * np.pi * f * x / p), v / np.linalg.norm(v)))


def _aniso(d, rng):
    """Factor F: z @ F is N(0, c Q diag(1 / i) Q^T) for z ~ N(0, I), a decaying spectrum (d_eff ~ 18
    at d = 128) with the trace (c) of the isotropic case, d."""
    lam = 1.0 / np.arange(1, d + 1)
    return np.sqrt(lam * d / lam.sum())[:, None] * np.linalg.qr(rng.normal(size=(d, d)))[0].T


def test_a_frequency_at_one_and_a_half_times_the_noise_is_found():
    p, d, rng = 23, 128, np.random.default_rng(0)
    found = sum(5 in fourier.key_frequencies(rng.normal(size=(p, d)) + _wave(p, 5, d, 1.5, rng), ALPHA)
                for _ in range(100))
    assert found >= 95


def test_a_weak_frequency_beside_strong_ones_is_found_and_nothing_else():
    """The step-down part (rotation null): three frequencies at 20x are found first, then one at
    2x among the rest; with anisotropic noise and only the three, nothing else in <= ~alpha."""
    p, d, rng = 37, 128, np.random.default_rng(1)
    factor, found, false = _aniso(d, rng), 0, 0
    for _ in range(40):
        strong = sum(_wave(p, k, d, 20.0, rng) for k in (5, 7, 9))
        found += {3, 5, 7, 9} <= set(fourier.key_frequencies(rng.normal(size=(p, d)) + strong
                                                             + _wave(p, 3, d, 2.0, rng), ALPHA, 199))
        false += fourier.key_frequencies(rng.normal(size=(p, d)) @ factor + strong, ALPHA, 199) != [5, 7, 9]
    assert found >= 38 and false <= stats.binom.ppf(0.999, 40, ALPHA)


@pytest.mark.parametrize("p,draws", [(11, 400), (23, 400), (37, 200), (113, 80)])
def test_noise_shows_a_key_frequency_in_about_alpha_of_draws(p, draws):
    """Isotropic and anisotropic Gaussian W_E; a draw counts when it shows any key frequency.

    Each count must lie within the two-sided 99.8 % binomial interval around alpha: at most about
    alpha (the family-wise guarantee) and not far below it (the test is exact, not conservative).
    99 permutations keep the file fast (the first step is exact for any n_perm; at alpha = 0.05
    the threshold is the 5th largest of 99), and p = 37 and 113 get fewer draws for the same reason.
    """
    d, rng = 128, np.random.default_rng(p)
    factor = _aniso(d, rng)
    for mix in (np.eye(d), factor):
        noise = (rng.normal(size=(draws * p, d)) @ mix).reshape(draws, p, d)
        hits = sum(bool(fourier.key_frequencies(w, ALPHA, 99)) for w in noise)
        assert stats.binom.ppf(0.001, draws, ALPHA) <= hits <= stats.binom.ppf(0.999, draws, ALPHA)
