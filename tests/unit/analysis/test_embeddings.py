import numpy as np
import pytest

from miiii.analysis import embeddings


def test_identical_rows_correlate_one_and_negated_minus_one():
    rng = np.random.default_rng(0)
    row = rng.normal(size=64)
    assert embeddings.pos_emb_corr(np.stack([row, row, rng.normal(size=64)])) == pytest.approx(1.0)
    assert embeddings.pos_emb_corr(np.stack([row, -row, row])) == pytest.approx(-1.0)


def test_matches_numpy_corrcoef():
    w = np.random.default_rng(3).normal(size=(3, 32))
    assert embeddings.pos_emb_corr(w) == pytest.approx(np.corrcoef(w[0], w[1])[0, 1])


def test_constant_row_has_no_correlation():
    assert np.isnan(embeddings.pearson(np.ones(5), np.arange(5.0)))
