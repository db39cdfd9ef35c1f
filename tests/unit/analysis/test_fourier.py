"""Known answers for the real Fourier basis and the key-frequency rule (SPEC 5.4)."""

import jax
import numpy as np
import pytest

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


def test_chi2_quantile_matches_scipy():
    stats = pytest.importorskip("scipy.stats", reason="scipy (a jax dependency) is the reference")
    for nu in (4, 16, 64, 512):
        for q in (0.25, 0.5, 0.999, 0.99999):
            rel = 0.05 if nu < 16 else 0.02  # Wilson-Hilferty is weakest for few degrees of freedom
            assert fourier.chi2_quantile(q, nu) == pytest.approx(stats.chi2.ppf(q, nu), rel=rel)


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


@pytest.mark.parametrize("p,d", [(11, 32), (37, 128), (113, 256)])
def test_untrained_model_has_no_key_frequencies(p, d):
    cfg = Config.make(p=p, d_model=d, n_heads=4)
    for seed in range(3):
        params = model.init(jax.random.PRNGKey(seed), tasks.task_of(cfg), d, 4, 1)
        w_e = np.asarray(params["W_E"])[:p]
        assert fourier.key_frequencies(w_e) == []
        out = fourier.embedding_fourier(w_e)
        assert out["key_freqs"] == [] and len(out["norms"]) == p and len(out["freq_norms"]) == p // 2 + 1


def test_unstructured_gaussian_matrices_rarely_have_key_frequencies():
    rng = np.random.default_rng(7)
    hits = sum(bool(fourier.key_frequencies(rng.normal(size=(37, 64)))) for _ in range(40))
    assert hits <= 1  # alpha = 1e-3 per matrix, so 0 expected


def test_zero_matrix_has_none():
    assert fourier.key_frequencies(np.zeros((11, 8))) == []
