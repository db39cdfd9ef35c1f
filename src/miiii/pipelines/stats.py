"""The statistical tests behind the fidelity rules (``pipelines.fidelity``), on plain numbers.

Each function returns a ``Test``: the effect size, its 95 % interval, the p-value (one-sided in
the direction the claim states), ``p_opposite`` (one-sided in the other direction: is the
effect significantly the other way?), n, and ``p_min``, the smallest p-value the test can
reach on the values observed (ties included), so that a rule can say "not testable (size)"
instead of "differs". ``Test.outcome`` reads the two p-values as ``holds`` (significant in the
claim's direction), ``fails`` (significant the other way) or ``open`` (neither).

* ``binomial(k, n, rate)``: k of n runs show a pattern; exact binomial test of "the pattern's
  rate is at most ``rate``" (``rate`` = 0.5 is the sign test). Effect k / n, Clopper–Pearson.
* ``mann_whitney(x, y)``: are the x larger than the y? U statistic, exact permutation p (all
  splits when there are at most ``N_RESAMPLES`` of them, else ``N_RESAMPLES`` seeded random
  ones), ties (e.g. +inf for a censored grok time) handled by mid-ranks. Effect: the common-
  language effect P(X > Y) + P(X = Y) / 2 with Newcombe's (2006, method 5) score interval,
  which stays honest under complete separation (a bootstrap collapses to [1, 1] there).
  ``p_min`` counts the splits that reach the largest U given the ties actually observed.
* ``correlation_t(r, sign)``: one-sample t-test of Fisher's z = atanh(r) against 0; effect
  tanh(mean z) with the back-transformed t interval.
* ``kendall_trend(x, ys)``: does y rise with x within each stratum (seed)? Mean Kendall tau-b
  over strata; p from permuting y within every stratum (``N_RESAMPLES`` seeded draws); percentile
  bootstrap over strata for the interval; ``p_min`` from the ties within each stratum.

Every random draw uses ``np.random.default_rng(SEED)``: the same inputs give the same p.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats
from scipy.optimize import brentq

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
    p_min: float = 0.0  # smallest p reachable on the observed values (ties included)
    p_opposite: float | None = None  # one-sided p in the direction opposite to the claim's

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p < ALPHA

    @property
    def opposite(self) -> bool:
        """Significant in the direction opposite to the claim's."""
        return self.p_opposite is not None and self.p_opposite < ALPHA

    @property
    def outcome(self) -> str:
        """``holds``, ``fails`` (significantly the other way) or ``open`` (neither, or unreachable)."""
        return "holds" if self.significant and self.reachable else "fails" if self.opposite else "open"

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


def binomial(k: int, n: int, rate: float = 0.5, claim_rate: float | None = None) -> Test:
    """Exact one-sided binomial test of "rate of the pattern <= ``rate``" from k of n runs.

    ``p_opposite`` tests "rate >= ``claim_rate``" (default ``rate``): for a pattern claimed in
    most runs against a chance rate, ``claim_rate=0.5`` says whether it is significantly rare.
    """
    name = "sign test" if rate == 0.5 else f"binomial test against chance rate {rate:.3g}"
    if n == 0:
        return Test(name, 0, None, p_min=1.0)
    p = stats.binomtest(k, n, rate, alternative="greater").pvalue
    q = stats.binomtest(k, n, rate if claim_rate is None else claim_rate, alternative="less").pvalue
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")  # two-sided 95 %
    return Test(name, n, float(p), k / n, (float(ci.low), float(ci.high)), rate**n, float(q))


def sign_flags(flags: Sequence[bool], rate: float = 0.5) -> Test:
    """``binomial`` on the number of true ``flags`` (one per run)."""
    return binomial(sum(bool(f) for f in flags), len(flags), rate)


def sign_states(states: Sequence[bool | None], rate: float = 0.5, claim_rate: float | None = None) -> Test:
    """``binomial`` over the runs where the pattern is decided (``None``: undetermined, e.g. both
    sides censored): they are left out of n, never counted as failures."""
    decided = [s for s in states if s is not None]
    return binomial(sum(decided), len(decided), rate, claim_rate)


def p_min_rank_sum(values: Sequence[float], n1: int) -> float:
    """Smallest exact permutation p of "the first ``n1`` are larger" reachable on ``values``.

    The largest rank sum is reached by the splits that give the group all values above the
    n1-th largest, v, and k of the c values tied at v: C(c, k) of the C(n, n1) splits.
    """
    v = np.sort(np.asarray(values, np.float64))[::-1]
    n = len(v)
    if n1 <= 0 or n1 >= n:
        return 1.0
    c = int((v == v[n1 - 1]).sum())
    k = n1 - int((v > v[n1 - 1]).sum())
    return math.comb(c, k) / math.comb(n, n1)


def newcombe_interval(theta: float, n1: int, n2: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Newcombe's (2006) method 5 score interval for P(X > Y): the roots in theta of
    (theta - estimate)^2 = z^2 V(theta), V the Hanley-McNeil variance with N* = (n1 + n2) / 2 - 1
    for n1 - 1 and n2 - 1. V(0) = V(1) = 0, so an estimate of 1 keeps 1 as its upper end and a
    lower end below it: no collapse to [1, 1] under complete separation."""
    m = (n1 + n2) / 2 - 1

    def f(t: float) -> float:
        v = t * (1 - t) * (1 + m * ((1 - t) / (2 - t) + t / (1 + t))) / (n1 * n2)
        return (t - theta) ** 2 - z * z * v

    eps = 1e-9  # at an estimate of 0 or 1 the root there is trivial: look just inside it
    lo = 0.0 if theta <= 0 else brentq(f, 0.0, min(theta, 1 - eps))
    hi = 1.0 if theta >= 1 else brentq(f, max(theta, eps), 1.0)
    return float(lo), float(hi)


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> Test:
    """One-sided Mann–Whitney U test of "the x tend to be larger than the y" (module doc)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n1, n2 = len(x), len(y)
    name = "Mann–Whitney U, exact permutation"
    if n1 == 0 or n2 == 0:
        return Test(name, n1 + n2, None, p_min=1.0)
    pooled = np.concatenate([x, y])
    ranks = stats.rankdata(pooled)  # mid-ranks: U = rank sum of x - n1 (n1 + 1) / 2
    u = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    total = math.comb(n1 + n2, n1)
    rng = np.random.default_rng(SEED)
    if total <= N_RESAMPLES:  # every split of the pooled runs into n1 and n2
        idx = np.array(list(combinations(range(n1 + n2), n1)))
    else:
        idx = np.argsort(rng.random((N_RESAMPLES, n1 + n2)), axis=1)[:, :n1]
    null = ranks[idx].sum(1) - n1 * (n1 + 1) / 2
    hi, lo = int((null >= u - 1e-9).sum()), int((null <= u + 1e-9).sum())
    exact = total <= N_RESAMPLES
    p, q = (hi / total, lo / total) if exact else ((1 + hi) / (1 + N_RESAMPLES), (1 + lo) / (1 + N_RESAMPLES))
    p_min = p_min_rank_sum(pooled, n1)
    theta = u / (n1 * n2)
    return Test(name, n1 + n2, float(p), theta, newcombe_interval(theta, n1, n2),
                p_min if exact else max(p_min, 1 / (1 + N_RESAMPLES)), float(q))


def correlation_t(r: Sequence[float], sign: int) -> Test:
    """One-sample t-test on Fisher z of correlations ``r``: is their mean of sign ``sign`` (+1/-1)?"""
    z = np.arctanh(np.clip(np.asarray(r, np.float64), -0.999999, 0.999999))
    name = "one-sample t-test on Fisher z"
    n = len(z)
    if n < 2:
        return Test(name, n, None, float(np.tanh(z.mean())) if n else None, None, 1.0)
    m, sd = float(z.mean()), float(z.std(ddof=1))
    if sd == 0:  # identical values: the sign is certain, the spread unknown
        p = 0.0 if m * sign > 0 else 1.0
        return Test(name, n, p, float(np.tanh(m)), (float(np.tanh(m)),) * 2, p_opposite=0.0 if m * sign < 0 else 1.0)
    res = stats.ttest_1samp(z, 0.0, alternative="greater" if sign > 0 else "less")
    opp = stats.ttest_1samp(z, 0.0, alternative="less" if sign > 0 else "greater")
    ci = stats.ttest_1samp(z, 0.0).confidence_interval(0.95)
    return Test(name, n, float(res.pvalue), float(np.tanh(m)), _interval(np.tanh(ci.low), np.tanh(ci.high)),
                p_opposite=float(opp.pvalue))


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
    ranks, ties, p_min = [], [], 1.0
    for y in ys:
        r = stats.rankdata(np.asarray(y, np.float64)[order])
        _, counts = np.unique(r, return_counts=True)
        tied = float((counts * (counts - 1) / 2).sum())
        if tied < len(r) * (len(r) - 1) / 2:
            ranks.append(r)
            ties.append(tied)
            # the mean tau is largest only when every stratum is sorted: prod(c!) of m! orders each
            p_min *= math.prod(math.factorial(int(c)) for c in counts) / math.factorial(len(r))
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
    q = (1 + int((null <= obs + 1e-12).sum())) / (1 + N_RESAMPLES)
    boot = taus[rng.integers(0, n, (N_RESAMPLES, n))].mean(1)
    return Test(name, n, p, obs, _percentile(boot), max(p_min, 1 / (1 + N_RESAMPLES)), q)
