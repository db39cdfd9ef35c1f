import numpy as np
import pytest

from miiii.analysis import svd


def _with_singular_values(s, shape=(11, 16), seed=0):
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(shape[0], len(s))))
    v, _ = np.linalg.qr(rng.normal(size=(shape[1], len(s))))
    return u @ np.diag(s) @ v.T


def test_known_singular_values_and_component_counts():
    s = np.array([4.0, 3.0, 2.0, 1.0, 0.5])  # squares 16, 9, 4, 1, .25 of 30.25
    out = svd.embedding_svd(_with_singular_values(s))
    np.testing.assert_allclose(out["singular_values"][:5], s, atol=1e-10)
    np.testing.assert_allclose(out["singular_values"][5:], 0, atol=1e-10)
    assert out["n50"] == 1 + (16 / 30.25 < 0.5)  # 16/30.25 = 0.53 -> 1
    assert out["n90"] == 3  # (16 + 9) / 30.25 = 0.83, + 4 -> 0.96
    assert sum(out["explained"]) == pytest.approx(1.0)
    assert len(out["top_vectors"]) == 4 and len(out["top_vectors"][0]) == 11


def test_components_for_edges():
    assert svd.components_for(np.ones(10), 0.5) == 5
    assert svd.components_for(np.ones(10), 0.9) == 9
    assert svd.components_for(np.zeros(3), 0.5) == 0


def test_top_vector_is_the_planted_direction():
    p = 13
    u = np.cos(2 * np.pi * 2 * np.arange(p) / p)
    u /= np.linalg.norm(u)
    w = 5 * np.outer(u, np.eye(8)[0]) + 0.01 * np.random.default_rng(1).normal(size=(p, 8))
    top = np.array(svd.embedding_svd(w)["top_vectors"][0])
    assert abs(top @ u) > 0.999
