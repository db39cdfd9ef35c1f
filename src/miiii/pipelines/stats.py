"""The statistical tests behind the fidelity rules (``pipelines.fidelity``), on plain numbers.

Each function returns a ``Test``: the effect size, its 95 % interval, the p-value (one-sided in
the direction the claim states), n, and ``p_min``, the smallest p-value the test can reach at
this n, so that a rule can say "not testable: too few runs" instead of "differs".

* ``binomial(k, n, rate)``: k of n runs show a pattern; exact binomial test of "the pattern's
  rate is at most ``rate``" (``rate`` = 0.5 is the sign test). Effect k / n, Clopper–Pearson.
* ``mann_whitney(x, y)``: are the x larger than the y? U statistic, exact permutation p (all
  splits when there are at most ``N_RESAMPLES`` of them, else ``N_RESAMPLES`` seeded random
  ones), ties (e.g. +inf for a censored grok time) handled by mid-ranks. Effect: the common-
  language effect P(X > Y) + P(X = Y) / 2, percentile-bootstrap interval.
* ``correlation_t(r, sign)``: one-sample t-test of Fisher's z = atanh(r) against 0; effect
  tanh(mean z) with the back-transformed t interval.
* ``kendall_trend(x, ys)``: does y rise with x within each stratum (seed)? Mean Kendall tau-b
  over strata; p from permuting y within every stratum (``N_RESAMPLES`` seeded draws); percentile
  bootstrap over strata for the interval.

Every random draw uses ``np.random.default_rng(SEED)``: the same inputs give the same p.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats

ALPHA = 0.05  # one-sided where the claim has a direction
N_RESAMPLES = 9999
SEED = 0


@dataclass(frozen=True)
class Test:
    name: str
    n: int
    p: float | None  # None: no test could be computed (no data, undefined statistic)
    effect: float | None = None
    interval: tuple[float, float] | None = None
    p_min: float = 0.0  # smallest p reachable at this n

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p < ALPHA

    @property
    def reachable(self) -> bool:
        """Whether the test can reach p < ALPHA at all with this many runs."""
        return self.n > 0 and self.p_min < ALPHA

    def p_text(self) -> str:
        return "p n/a" if self.p is None else f"p = {self.p:.3g}"

    def effect_text(self, fmt: str = ".2f") -> str:
        """The effect and its 95 % interval, e.g. ``0.84 [0.60, 1.00]``."""
        if self.effect is None:
            return "n/a"
        ci = f" [{self.interval[0]:{fmt}}, {self.interval[1]:{fmt}}]" if self.interval else ""
        return f"{self.effect:{fmt}}{ci}"


def _interval(lo: float, hi: float) -> tuple[float, float] | None:
    return (float(lo), float(hi)) if np.isfinite(lo) and np.isfinite(hi) else None


def _percentile(boot: np.ndarray) -> tuple[float, float] | None:
    boot = boot[np.isfinite(boot)]
    return _interval(*np.percentile(boot, [2.5, 97.5])) if boot.size else None


def binomial(k: int, n: int, rate: float = 0.5) -> Test:
    """Exact one-sided binomial test of "rate of the pattern <= ``rate``" from k of n runs."""
    name = "sign test" if rate == 0.5 else f"binomial test against chance rate {rate:.3g}"
    if n == 0:
        return Test(name, 0, None, p_min=1.0)
    p = stats.binomtest(k, n, rate, alternative="greater").pvalue
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")  # two-sided 95 %
    return Test(name, n, float(p), k / n, (float(ci.low), float(ci.high)), rate**n)


def sign_flags(flags: Sequence[bool], rate: float = 0.5) -> Test:
    """``binomial`` on the number of true ``flags`` (one per run)."""
    return binomial(sum(bool(f) for f in flags), len(flags), rate)


def _u(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """U of x over y along the last axis (x > y counts 1, ties 1/2); x (..., n1), y (..., n2)."""
    gt = x[..., :, None] > y[..., None, :]
    eq = x[..., :, None] == y[..., None, :]  # +inf == +inf is a tie
    return gt.sum((-1, -2)) + 0.5 * eq.sum((-1, -2))


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> Test:
    """One-sided Mann–Whitney U test of "the x tend to be larger than the y" (module doc)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n1, n2 = len(x), len(y)
    name = "Mann–Whitney U, exact permutation"
    if n1 == 0 or n2 == 0:
        return Test(name, n1 + n2, None, p_min=1.0)
    ranks = stats.rankdata(np.concatenate([x, y]))  # mid-ranks: U = rank sum of x - n1 (n1 + 1) / 2
    u = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    total = math.comb(n1 + n2, n1)
    rng = np.random.default_rng(SEED)
    if total <= N_RESAMPLES:  # every split of the pooled runs into n1 and n2
        idx = np.array(list(combinations(range(n1 + n2), n1)))
    else:
        idx = np.argsort(rng.random((N_RESAMPLES, n1 + n2)), axis=1)[:, :n1]
    count = int((ranks[idx].sum(1) - n1 * (n1 + 1) / 2 >= u - 1e-9).sum())
    p = count / total if total <= N_RESAMPLES else (1 + count) / (1 + N_RESAMPLES)
    boot = _u(x[rng.integers(0, n1, (N_RESAMPLES, n1))], y[rng.integers(0, n2, (N_RESAMPLES, n2))]) / (n1 * n2)
    return Test(name, n1 + n2, float(p), u / (n1 * n2), _percentile(boot), max(1 / total, 1 / (1 + N_RESAMPLES)))


def correlation_t(r: Sequence[float], sign: int) -> Test:
    """One-sample t-test on Fisher z of correlations ``r``: is their mean of sign ``sign`` (+1/-1)?"""
    z = np.arctanh(np.clip(np.asarray(r, np.float64), -0.999999, 0.999999))
    name = "one-sample t-test on Fisher z"
    n = len(z)
    if n < 2:
        return Test(name, n, None, float(np.tanh(z.mean())) if n else None, None, 1.0)
    m, sd = float(z.mean()), float(z.std(ddof=1))
    if sd == 0:  # identical values: the sign is certain, the spread unknown
        return Test(name, n, 0.0 if m * sign > 0 else 1.0, float(np.tanh(m)), (float(np.tanh(m)),) * 2)
    res = stats.ttest_1samp(z, 0.0, alternative="greater" if sign > 0 else "less")
    ci = stats.ttest_1samp(z, 0.0).confidence_interval(0.95)
    return Test(name, n, float(res.pvalue), float(np.tanh(m)), _interval(np.tanh(ci.low), np.tanh(ci.high)))


def _tau_b(ranks: np.ndarray, n_tied: float) -> np.ndarray:
    """tau-b of x = 0, 1, ..., m-1 (no ties) with y of ranks ``ranks`` (..., m); n_tied: y's tied pairs."""
    m = ranks.shape[-1]
    d = np.sign(ranks[..., None, :] - ranks[..., :, None])  # [i, j] = sign(r_j - r_i)
    s = np.triu(d, 1).sum((-1, -2))
    n0 = m * (m - 1) / 2
    return s / math.sqrt(n0 * (n0 - n_tied))


def kendall_trend(x: Sequence[float], ys: Sequence[Sequence[float]]) -> Test:
    """Mean Kendall tau-b of (x, y) over strata ``ys`` (one y per x in each), one-sided "> 0".

    Strata whose y are all tied (tau undefined) are left out; ``n`` counts the others.
    """
    order = np.argsort(np.asarray(x, np.float64), kind="stable")
    name = "Kendall tau-b, within-seed permutation"
    ranks, ties = [], []
    for y in ys:
        r = stats.rankdata(np.asarray(y, np.float64)[order])
        _, counts = np.unique(r, return_counts=True)
        tied = float((counts * (counts - 1) / 2).sum())
        if tied < len(r) * (len(r) - 1) / 2:
            ranks.append(r)
            ties.append(tied)
    n = len(ranks)
    if n == 0 or len(order) < 2:
        return Test(name, n, None, p_min=1.0)
    taus = np.array([_tau_b(r, t) for r, t in zip(ranks, ties)])
    rng = np.random.default_rng(SEED)
    null = np.zeros(N_RESAMPLES)
    for r, t in zip(ranks, ties):
        null += _tau_b(rng.permuted(np.tile(r, (N_RESAMPLES, 1)), axis=1), t)
    null /= n
    obs = float(taus.mean())
    p = (1 + int((null >= obs - 1e-12).sum())) / (1 + N_RESAMPLES)
    boot = taus[rng.integers(0, n, (N_RESAMPLES, n))].mean(1)
    exact_min = 1 / math.prod(math.factorial(len(r)) for r in ranks)
    return Test(name, n, p, obs, _percentile(boot), max(exact_min, 1 / (1 + N_RESAMPLES)))
