import math
from itertools import combinations

import numpy as np
import pytest
from scipy import stats as ss

from miiii.pipelines import stats as st

# ---- the statistics, against scipy.stats and brute force on known inputs --------------------------


def test_sign_and_binomial_tests():
    t = st.binomial(5, 5)
    assert t.p == pytest.approx(1 / 32) and t.significant and t.effect == 1.0 and t.outcome == "holds"
    assert t.interval == pytest.approx(tuple(ss.binomtest(5, 5).proportion_ci(0.95, "exact")))
    assert not st.binomial(4, 5).significant and st.binomial(4, 5).outcome == "open"  # 6/32
    assert st.binomial(0, 5).outcome == "fails"  # significantly rarer than half: p_opposite 1/32
    assert st.binomial(2, 7, 1 / 70).p == pytest.approx(ss.binomtest(2, 7, 1 / 70, alternative="greater").pvalue)
    # against chance, "in most seeds": the opposite is tested at the claim's rate
    t = st.binomial(1, 5, 1 / 24, claim_rate=0.5)
    assert t.p_opposite == pytest.approx(ss.binomtest(1, 5, 0.5, alternative="less").pvalue)  # 6/32: open
    assert not st.binomial(2, 2).reachable and st.binomial(0, 5).reachable  # 1/4 > 0.05 >= 1/32
    assert st.sign_flags([True, False, True]).p == st.binomial(2, 3).p
    # undetermined seeds leave n, they are not failures
    assert st.sign_states([True, None, True, True, None, True, True]).n == 5
    assert st.sign_states([True, None, True, True, None, True, True]).p == pytest.approx(1 / 32)


def test_mann_whitney_matches_scipy():
    x, y = [6, 7, 8, 9, 10], [1, 2, 3, 4, 5]
    t = st.mann_whitney(x, y)
    assert t.p == pytest.approx(1 / 252) == pytest.approx(ss.mannwhitneyu(x, y, alternative="greater").pvalue)
    assert t.effect == 1.0 and t.p_opposite == 1.0
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=6) + 1, rng.normal(size=5)
    t = st.mann_whitney(a, b)
    assert t.p == pytest.approx(ss.mannwhitneyu(a, b, alternative="greater", method="exact").pvalue)
    assert t.p_opposite == pytest.approx(ss.mannwhitneyu(a, b, alternative="less", method="exact").pvalue)
    # ties, including +inf for censored times: the exact permutation distribution
    a, b = [5, 6, math.inf, math.inf, math.inf], [1, 2, 3, math.inf, math.inf]
    ref = ss.permutation_test((a, b), lambda u, v: ss.mannwhitneyu(u, v).statistic, n_resamples=np.inf,
                              alternative="greater").pvalue
    assert st.mann_whitney(a, b).p == pytest.approx(ref)
    assert st.mann_whitney(a, b).effect == pytest.approx(ss.mannwhitneyu(a, b).statistic / 25)
    assert not st.mann_whitney([1, 2], [0, 0]).reachable  # 1/6


def _p_min_brute(values: list[float], n1: int) -> float:
    """The smallest p over every arrangement of the observed values into n1 + n2: enumerate them all."""
    n = len(values)
    ps = []
    for idx in combinations(range(n), n1):
        x = [values[i] for i in idx]
        y = [values[i] for i in range(n) if i not in idx]
        ps.append(st.mann_whitney(x, y).p)
    return min(ps)


@pytest.mark.parametrize("values,n1", [
    ([math.inf] * 5 + [7454, math.inf, 2048], 5),  # the audit's masked_speedup: C(6,5)/C(8,5) = 0.107
    ([1, 2, 3, 4, 5, 6, 7, 8], 4),  # no ties: 1/C(8,4)
    ([3, 3, 3, 4, 5, 3, 7, 6, 4, 5], 5),  # integer counts with many ties
    ([math.inf] * 4, 2),  # all tied: no split is extreme
])
def test_p_min_is_tie_aware_against_brute_force(values, n1):
    got = st.p_min_rank_sum(values, n1)
    assert got == pytest.approx(_p_min_brute(values, n1))
    assert st.mann_whitney(values[:n1], values[n1:]).p_min == pytest.approx(got)
    if values[0] == math.inf and len(values) == 8:
        assert got == pytest.approx(math.comb(6, 5) / math.comb(8, 5))
        assert not st.mann_whitney(values[:n1], values[n1:]).reachable


def test_newcombe_interval_is_honest_under_separation():
    t = st.mann_whitney([6, 7, 8, 9, 10], [1, 2, 3, 4, 5])
    lo, hi = t.interval
    assert hi == 1.0 and 0.5 < lo < 0.8  # not the bootstrap's collapse to [1, 1]
    lo, hi = st.newcombe_interval(0.5, 5, 5)
    assert lo == pytest.approx(1 - hi) and lo < 0.5 < hi  # symmetric about 1/2
    assert st.newcombe_interval(0.0, 5, 5) == pytest.approx(tuple(1 - v for v in st.newcombe_interval(1.0, 5, 5)[::-1]))
    # coverage of P(X > Y) over repeated samples, two normals a shift 1 apart (theta = Phi(1/sqrt 2) = 0.760)
    rng = np.random.default_rng(0)
    theta = ss.norm.cdf(1 / math.sqrt(2))
    hits = 0
    for _ in range(400):
        x, y = rng.normal(1, 1, 6), rng.normal(0, 1, 6)
        u = ss.mannwhitneyu(x, y).statistic / 36
        lo, hi = st.newcombe_interval(u, 6, 6)
        hits += lo <= theta <= hi
    assert hits / 400 >= 0.92


def test_kendall_trend_matches_scipy():
    t = st.kendall_trend([2, 3, 5, 7], [[1, 2, 3, 4]])
    exact = ss.kendalltau([2, 3, 5, 7], [1, 2, 3, 4], alternative="greater", method="exact").pvalue  # 1/24
    assert t.effect == 1.0 and t.p == pytest.approx(exact, abs=0.006) and t.p_min == pytest.approx(1 / 24)
    ys = [[1, 2, math.inf, 4, math.inf], [3, 1, 2, 5, 4]]
    t = st.kendall_trend([2, 3, 5, 7, 11], ys)
    assert t.effect == pytest.approx(np.mean([ss.kendalltau([2, 3, 5, 7, 11], y).statistic for y in ys]))
    # ties shrink the number of distinct orders: 2! / 5! in the first stratum, 1 / 5! in the second
    assert t.p_min == pytest.approx(max(2 / 120 / 120, 1 / (1 + st.N_RESAMPLES)))
    assert st.kendall_trend([2, 3], [[math.inf, math.inf]]).p is None  # every time tied: no tau
    assert st.kendall_trend([2, 3, 5, 7], [[4, 3, 2, 1]] * 3).outcome == "fails"  # significantly decreasing
    # one stratum of 3 with a tie: 2 distinct orders... at best p = 2/6
    assert not st.kendall_trend([2, 3, 5], [[1, 5, 5]]).reachable


def test_correlation_t_matches_scipy():
    r = [-0.95, -0.73, 0.54]
    t = st.correlation_t(r, -1)
    assert t.p == pytest.approx(ss.ttest_1samp(np.arctanh(r), 0, alternative="less").pvalue)
    assert t.p_opposite == pytest.approx(ss.ttest_1samp(np.arctanh(r), 0, alternative="greater").pvalue)
    assert not t.significant and t.outcome == "open"  # the audit's example: p ~ 0.25
    assert st.correlation_t([0.9, 0.95, 0.8, 0.97, 0.9], 1).significant
    assert st.correlation_t([0.9, 0.95, 0.8, 0.97, 0.9], -1).outcome == "fails"
