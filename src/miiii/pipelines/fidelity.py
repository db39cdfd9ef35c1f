"""The study's claims (docs/study.md, "Claims and their tests") and the pre-stated test of each.

Every rule is a pure function from measured numbers (plain Python lists and dicts) to a
``Claim``: the study's statement, the measurement with its effect size, 95 % interval, n and
p, and a verdict decided here, never by hand. A claim has one or more *parts*, each decided
by its stated rule; the statistics are in ``pipelines.stats`` (α = 0.05, one-sided in the
direction the study states).

* ``reproduced``   — every part holds;
* ``partly``       — some parts hold, not all;
* ``differs``      — no part holds: the data do not support the claim at this n (this
  includes too little evidence; read ``n``, the interval and ``p``);
* ``not testable`` — the run set cannot decide it, for the ``reason`` given: ``size`` (p too
  small for the sub-tasks the claim names, a role missing, or too few runs for the test to
  reach p < 0.05) or ``budget`` (nothing the claim needs grokked within the epoch budget).

The rules were written from the study's wording before any result of the multi-seed run set
was seen, and are not to be tuned to results. Grok times are censoring-aware: a sub-task's
time t is its ``grok_epoch`` (sustained accuracy, docs/grok-rule.md), or +inf when it did
not grok within the budget or only in its last 5 % (censored): every censored time ranks
after every grokked one and ties with the other censored ones. With one fixed censoring time
for all runs, the Mann–Whitney test on such times is Gehan's generalised Wilcoxon test.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import stats as st

REPRODUCED, PARTLY, DIFFERS, UNTESTABLE = "reproduced", "partly", "differs", "not testable"
VERDICTS = (REPRODUCED, PARTLY, DIFFERS, UNTESTABLE)
SMALL = (2, 3, 5, 7)
MIDDLE = (11, 13, 17, 19)
INF = math.inf

Grok = Sequence[int | None]  # grok epoch per sub-task (None: not within budget, or censored)


@dataclass(frozen=True)
class Claim:
    id: str
    study: str
    measured: str
    verdict: str
    n: int = 0  # runs entering the claim's test(s)
    p: float | None = None  # p of the claim's main test (None: no test applies)
    effect: float | None = None  # the main test's effect size ...
    interval: tuple[float, float] | None = None  # ... and its 95 % interval
    test: str = ""  # the statistic and the test, in words
    parts: tuple[tuple[str, bool], ...] = ()
    reason: str | None = None  # why not testable: "size" or "budget"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "study": self.study, "measured": self.measured, "verdict": self.verdict,
                "n": self.n, "p": self.p, "effect": self.effect,
                "interval": list(self.interval) if self.interval else None, "test": self.test,
                "parts": [{"part": name, "holds": ok} for name, ok in self.parts], "reason": self.reason}


def verdict(parts: Sequence[tuple[str, bool]]) -> str:
    held = [ok for _, ok in parts]
    return REPRODUCED if all(held) else PARTLY if any(held) else DIFFERS


def _times(g: Grok) -> list[float]:
    return [INF if e is None else float(e) for e in g]


def _ep(x: float) -> str:
    return "censored" if not math.isfinite(x) else f"{x:,.0f}"


def _judge(id_: str, study: str, measured: str, parts: list[tuple[str, bool]], main: st.Test,
           tests: Sequence[st.Test] = ()) -> Claim:
    """The verdict of the parts, or "not testable (size)" when a test cannot reach α at this n."""
    for t in (main, *tests):
        if not t.reachable:
            why = f"size: with n = {t.n} the {t.name} cannot reach p < {st.ALPHA} (smallest p {t.p_min:.3g})"
            return Claim(id_, study, f"{why}. {measured}", UNTESTABLE, main.n, main.p, main.effect, main.interval,
                         main.name, tuple(parts), "size")
    shown = "; ".join(f"{name}: {'holds' if ok else 'fails'}" for name, ok in parts)
    return Claim(id_, study, f"{measured}. Parts — {shown}", verdict(parts), main.n, main.p, main.effect,
                 main.interval, main.name, tuple(parts))


def _untestable(id_: str, study: str, reason: str, why: str, n: int = 0) -> Claim:
    return Claim(id_, study, f"{reason}: {why}", UNTESTABLE, n, reason=reason)


def grok_order(subtasks: Sequence[int], seeds: Sequence[Grok]) -> Claim:
    """q = 2, 3, 5, 7 grok first, in that order (miiii seeds; t censoring-aware, module doc).

    * small q earlier (main): mean over seeds of Kendall tau-b between q and t (all sub-tasks;
      seeds where every t ties are left out) > 0; p from permuting t within each seed.
    * in that order: per seed, t(2) < t(3) < t(5) < t(7) strictly (all grokked); binomial test
      against the chance rate 1/24 of a random order, and in at least half the seeds.
    * first: per seed, every q in {2, 3, 5, 7} grokked before the first q > 7; binomial test
      against the chance rate 1 / C(m, 4) (m sub-tasks), and in at least half the seeds.
      Left out when p <= 11 (no q > 7).
    Not testable: p <= 7 (size); no sub-task grokked in any seed (budget).
    """
    id_, study, qs = "grok_order", "q = 2, 3, 5, 7 grok first, in that order", list(subtasks)
    if any(q not in qs for q in SMALL):
        return _untestable(id_, study, "size", f"sub-tasks {qs} lack some of q = 2, 3, 5, 7")
    ts = [_times(g) for g in seeds]
    if not any(math.isfinite(t) for row in ts for t in row):
        return _untestable(id_, study, "budget", "no sub-task grokked within the budget in any seed", len(ts))
    trend = st.kendall_trend(qs, ts)
    i = [qs.index(q) for q in SMALL]
    n = len(ts)
    k_ord = sum(all(row[a] < row[b] for a, b in zip(i, i[1:])) and math.isfinite(row[i[-1]]) for row in ts)
    order = st.binomial(k_ord, n, 1 / 24)
    parts = [("small q earlier (Kendall τ > 0)", trend.significant),
             ("2 < 3 < 5 < 7", order.significant and 2 * k_ord >= n)]
    measured = (f"mean Kendall τ(q, t) {trend.effect_text('+.2f')} over {trend.n} seeds, {trend.p_text()}; "
                f"t(2) < t(3) < t(5) < t(7) in {k_ord}/{n} seeds ({order.p_text()} against chance 1/24)")
    tests = [order]
    big = [k for k, q in enumerate(qs) if q > 7]
    if big:
        k_first = sum(math.isfinite(max(row[k] for k in i)) and max(row[k] for k in i) < min(row[k] for k in big)
                      for row in ts)
        first = st.binomial(k_first, n, 1 / math.comb(len(qs), 4))
        parts.append(("2, 3, 5, 7 before every q > 7", first.significant and 2 * k_first >= n))
        measured += f"; all of 2, 3, 5, 7 before every q > 7 in {k_first}/{n} seeds ({first.p_text()} against chance)"
        tests.append(first)
    return _judge(id_, study, measured, parts, trend, tests)


def others_late(subtasks: Sequence[int], seeds: Sequence[Grok], p: int | None = None) -> Claim:
    """The sub-tasks q > 7 grok later than q <= 7, together (around epoch 40,000 at p = 113).

    * later (main): per seed, median t over q > 7 > median t over q <= 7; sign test over seeds.
    * together: per seed, every q > 7 grokked and max t / min t <= 2 over q > 7; sign test.
    * around 40,000 (only at p = 113): the median over seeds of the per-seed median grok epoch
      of the grokked q > 7 lies in [20,000, 80,000] (a factor 2); no test.
    Not testable: no q > 7 (size); no q > 7 grokked in any seed (budget).
    """
    id_, qs = "others_late", list(subtasks)
    study = "the other sub-tasks (q > 7) grok later, together (around epoch 40,000 at p = 113)"
    big, small = [k for k, q in enumerate(qs) if q > 7], [k for k, q in enumerate(qs) if q <= 7]
    if not big or 7 not in qs:
        return _untestable(id_, study, "size", f"sub-tasks {qs}: no q > 7 at this p")
    ts = [_times(g) for g in seeds]
    if not any(math.isfinite(row[k]) for row in ts for k in big):
        return _untestable(id_, study, "budget", "no q > 7 grokked within the budget in any seed", len(ts))
    n, k_late = len(ts), sum(np.median([row[k] for k in big]) > np.median([row[k] for k in small]) for row in ts)
    spans = [max(row[k] for k in big) / max(min(row[k] for k in big), 1.0) for row in ts]
    k_tog = sum(math.isfinite(s) and s <= 2 for s in spans)
    late, tog = st.binomial(k_late, n), st.binomial(k_tog, n)
    parts = [("later", late.significant), ("together (within a factor 2)", tog.significant)]
    measured = (f"median t of q > 7 after that of q ≤ 7 in {k_late}/{n} seeds ({late.p_text()}); all q > 7 grokked "
                f"within a factor 2 in {k_tog}/{n} seeds ({tog.p_text()}); spans "
                + ", ".join("censored" if not math.isfinite(s) else f"×{s:.1f}" for s in spans))
    mids = [float(np.median(done)) for row in ts if (done := [row[k] for k in big if math.isfinite(row[k])])]
    if mids:
        measured += f"; median grok epoch of q > 7 {statistics.median(mids):,.0f}"
    if p == 113:
        parts.append(("around epoch 40,000", bool(mids) and 20_000 <= statistics.median(mids) <= 80_000))
    return _judge(id_, study, measured, parts, late, [tog])


def pos_corr(task: str, study_value: float, values: Sequence[float | None]) -> Claim:
    """Positional correlation r of W_pos[0] and W_pos[1] has the study's sign and value.

    * sign (main): one-sample t-test of Fisher z = atanh(r) over seeds, one-sided in the sign
      of ``study_value``.
    * value: the 95 % interval of the mean r (back-transformed from z) excludes 0 and contains
      ``study_value``.
    Not testable: fewer than 2 runs with a defined r (size).
    """
    id_ = f"pos_corr_{task}"
    study = f"{task}: Pearson correlation of the two input positions' embeddings = {study_value}"
    vals = [float(v) for v in values if v is not None and math.isfinite(v)]
    t = st.correlation_t(vals, 1 if study_value > 0 else -1)
    ci = t.interval
    value = ci is not None and ci[0] <= study_value <= ci[1] and (ci[0] > 0 or ci[1] < 0)
    shown = ", ".join(f"{v:+.2f}" for v in vals) or "none"
    measured = f"r per seed {shown}; mean {t.effect_text('+.2f')}, {t.p_text()}"
    return _judge(id_, study, measured, [("sign", t.significant), (f"value {study_value} in the interval", value)], t)


def pos_corr_contrast(nanda: Sequence[float | None], miiii: Sequence[float | None]) -> Claim:
    """nanda (commutative) has a higher positional correlation than miiii (not commutative).

    One part: Mann–Whitney U, one-sided "nanda > miiii" over seeds; effect P(nanda > miiii).
    Not testable: too few runs for the exact test to reach p < 0.05 (size).
    """
    study = "nanda is commutative and miiii is not: positional correlation 0.95 (nanda) vs −0.64 (miiii)"
    a = [float(v) for v in nanda if v is not None and math.isfinite(v)]
    b = [float(v) for v in miiii if v is not None and math.isfinite(v)]
    t = st.mann_whitney(a, b)
    med = lambda xs: statistics.median(xs) if xs else math.nan  # noqa: E731
    measured = (f"median r nanda {med(a):+.2f} (n = {len(a)}), miiii {med(b):+.2f} (n = {len(b)}); "
                f"P(nanda > miiii) {t.effect_text()}, {t.p_text()}")
    return _judge("pos_corr_contrast", study, measured, [("nanda above miiii", t.significant)], t)


def key_freqs(nanda: Sequence[dict], miiii: Sequence[dict], basis: Sequence[dict]) -> Claim:
    """W_E's key frequencies: ≈5 for nanda, many more for miiii, none for basis (each input: a
    list of per-seed ``fourier`` dicts with ``n_eff`` and ``n_key``).

    * more for miiii (main): Mann–Whitney U, one-sided "miiii's N_eff > nanda's" over seeds.
    * nanda few: the median over nanda seeds of ``n_key`` lies in 1 … 10 (the study's ≈5).
    * basis none: every basis seed has ``n_key`` = 0 (the key test's family-wise level is 1e-3
      per model). Left out when there are no basis runs.
    Not testable: no nanda or no miiii runs, or too few for the test (size).
    """
    study = "key frequencies of W_E: ≈5 for nanda, many more for miiii, none for basis"
    if not nanda or not miiii:
        return _untestable("key_freqs", study, "size", "no nanda or no miiii run with parameters")
    t = st.mann_whitney([m["n_eff"] for m in miiii], [m["n_eff"] for m in nanda])
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    few = 1 <= med(nanda, "n_key") <= 10
    parts = [("miiii spreads over more frequencies (N_eff)", t.significant), ("nanda has 1–10 key frequencies", few)]
    measured = (f"median N_eff nanda {med(nanda, 'n_eff'):.1f}, miiii {med(miiii, 'n_eff'):.1f}; P(miiii > nanda) "
                f"{t.effect_text()}, {t.p_text()}; median key frequencies nanda {med(nanda, 'n_key'):g}, "
                f"miiii {med(miiii, 'n_key'):g}")
    if basis:
        parts.append(("basis has none", all(b["n_key"] == 0 for b in basis)))
        measured += f"; basis {', '.join(str(b['n_key']) for b in basis)}"
    return _judge("key_freqs", study, measured, parts, t)


def omega_spike(epochs: Sequence[int], counts: Sequence[Sequence[int]], grokked: bool = True,
                label: str = "calibrated |ω|") -> Claim:
    """|ω| rises while the harder sub-tasks generalise, then falls (judged on ``counts``).

    One part: per seed, the count peaks (> 0) at an interior logged epoch and both its first
    and its last value are ≤ 80 % of the peak; sign test over seeds ("in more runs than not").
    The count used, ``omega.count_calibrated``, was defined by the project after earlier
    results had shown the study's count saturating at small p; this is the rule's caveat.
    Not testable: fewer than 3 logged epochs or no run (size); no sub-task grokked (budget).
    """
    study = "|ω| = 0, 0, 10, 18, 10 at epochs 256, 1024, 4096, 16384, 65536: rises, then falls"
    if len(epochs) < 3 or not counts:
        return _untestable("omega_spike", study, "size", "fewer than 3 logged epochs or no run")
    if not grokked:
        return _untestable("omega_spike", study, "budget", "no sub-task grokked: nothing to spike with", len(counts))
    rows, flags = [], []
    for c in counts:
        k = max(range(len(c)), key=lambda i: c[i])
        flags.append(c[k] > 0 and 0 < k < len(c) - 1 and c[0] <= 0.8 * c[k] and c[-1] <= 0.8 * c[k])
        rows.append(f"{c[0]}→{c[k]} (epoch {epochs[k]})→{c[-1]}")
    t = st.sign_flags(flags)
    measured = f"{label} start→peak→end per seed: {'; '.join(rows)}; spike in {sum(flags)}/{len(flags)} ({t.p_text()})"
    return _judge("omega_spike", study, measured, [("rises then falls", t.significant)], t)


def lambda_zero(with_filter: Sequence[Grok], without: Sequence[Grok]) -> Claim:
    """Without GrokFast (λ = 0) the task does not grok within the budget (λ > 0: miiii seeds).

    * fewer (main): Mann–Whitney U, one-sided "λ > 0 seeds grok more sub-tasks than λ = 0".
    * not within budget: per λ = 0 seed, some sub-task is not grokked; sign test.
    Not testable: a role without runs, or too few for the tests (size); nothing grokked in
    either role (budget).
    """
    study = "without GrokFast (λ = 0) the task does not grok within the budget"
    a = [sum(e is not None for e in g) for g in with_filter]
    b = [sum(e is not None for e in g) for g in without]
    if not a or not b:
        return _untestable("lambda_zero", study, "size", "no λ = 0 or no λ > 0 run")
    if sum(a) + sum(b) == 0:
        return _untestable("lambda_zero", study, "budget", "no sub-task grokked with or without λ", len(a) + len(b))
    t = st.mann_whitney(a, b)
    left = [k < len(g) for k, g in zip(b, without)]
    s = st.sign_flags(left)
    measured = (f"sub-tasks grokked per seed: λ > 0 {a}, λ = 0 {b} (of {len(without[0])}); P(λ > 0 more) "
                f"{t.effect_text()}, {t.p_text()}; λ = 0 left some sub-task ungrokked in {sum(left)}/{len(b)} "
                f"({s.p_text()})")
    parts = [("fewer sub-tasks grok with λ = 0", t.significant), ("λ = 0 does not grok the task", s.significant)]
    return _judge("lambda_zero", study, measured, parts, t, [s])


def dropout_zero(subtasks: Sequence[int], miiii: Sequence[Grok], d0: Sequence[Grok],
                 d0_train: Sequence[Sequence[float]]) -> Claim:
    """With dropout 0 the model overfits every sub-task but q ∈ {2, 3} (dropout > 0: miiii).

    * fewer (main): Mann–Whitney U, one-sided "dropout > 0 seeds grok more q ≥ 5 than dropout 0".
    * overfit: per dropout-0 seed, every q ≥ 5 has final train accuracy ≥ 0.99 and is not
      grokked; sign test.
    * q = 2, 3 grok: per dropout-0 seed, both grok; sign test.
    Not testable: q = 2 or 3 missing, no q ≥ 5, a role without runs, too few runs (size); no
    q ≥ 5 grokked in any dropout > 0 seed (budget: then dropout 0 cannot be what prevents it).
    """
    study = "with dropout 0 the model overfits every sub-task but q ∈ {2, 3}"
    qs = list(subtasks)
    rest = [k for k, q in enumerate(qs) if q >= 5]
    if 2 not in qs or 3 not in qs or not rest or not miiii or not d0:
        return _untestable("dropout_zero", study, "size", f"sub-tasks {qs}, {len(miiii)} + {len(d0)} runs")
    base = [sum(g[k] is not None for k in rest) for g in miiii]
    drop = [sum(g[k] is not None for k in rest) for g in d0]
    if sum(base) == 0:
        return _untestable("dropout_zero", study, "budget", "no q ≥ 5 grokked with dropout > 0 either",
                           len(base) + len(drop))
    t = st.mann_whitney(base, drop)
    over = st.sign_flags([all(g[k] is None and acc[k] >= 0.99 for k in rest) for g, acc in zip(d0, d0_train)])
    i2, i3 = qs.index(2), qs.index(3)
    small = st.sign_flags([g[i2] is not None and g[i3] is not None for g in d0])
    measured = (f"q ≥ 5 grokked per seed: dropout > 0 {base}, dropout 0 {drop} (of {len(rest)}); P(more with dropout)"
                f" {t.effect_text()}, {t.p_text()}; every q ≥ 5 overfit in {over.effect:.0%} of dropout-0 seeds "
                f"({over.p_text()}); "
                f"q = 2, 3 grokked in {small.effect:.0%} ({small.p_text()})")
    parts = [("fewer q ≥ 5 grok without dropout", t.significant), ("every q ≥ 5 overfits", over.significant),
             ("q = 2, 3 grok", small.significant)]
    return _judge("dropout_zero", study, measured, parts, t, [over, small])


def masked_first(subtasks: Sequence[int], masked: Sequence[Grok]) -> Claim:
    """With q ∈ {2, 3, 5, 7} masked, q = 11, 13, 17, 19 are learnt first (masked seeds).

    One part: per seed, all four grokked before the first in-loss q > 19; binomial test against
    the chance rate 1 / C(m, 4) (m in-loss sub-tasks), and in at least half the seeds.
    Not testable: p <= 23 (size: the loss then holds only q = 11 … 19, or fewer, so "first
    among the in-loss sub-tasks" is empty), no masked runs (size), none of the four grokked
    (budget).
    """
    study = "with q ∈ {2,3,5,7} masked, q = 11, 13, 17, 19 are learnt first"
    qs = list(subtasks)
    later = [k for k, q in enumerate(qs) if q > 19]
    if any(q not in qs for q in MIDDLE) or not later:
        return _untestable("masked_first", study, "size", f"sub-tasks {qs}: the loss holds no q > 19, so 'first' "
                           "among the in-loss sub-tasks is empty (see masked_speedup)")
    if not masked:
        return _untestable("masked_first", study, "size", "no masked runs")
    mid = [qs.index(q) for q in MIDDLE]
    ts = [_times(g) for g in masked]
    if not any(math.isfinite(row[k]) for row in ts for k in mid):
        return _untestable("masked_first", study, "budget", "none of q = 11 … 19 grokked", len(ts))
    n, k = len(ts), sum(math.isfinite(max(r[j] for j in mid)) and max(r[j] for j in mid) < min(r[j] for j in later)
                        for r in ts)
    t = st.binomial(k, n, 1 / math.comb(len(mid) + len(later), 4))
    measured = f"q = 11 … 19 all before every in-loss q > 19 in {k}/{n} masked seeds ({t.p_text()} against chance)"
    return _judge("masked_first", study, measured, [("11, 13, 17, 19 first", t.significant and 2 * k >= n)], t)


def masked_speedup(subtasks: Sequence[int], miiii: Sequence[Grok], masked: Sequence[Grok]) -> Claim:
    """Masking q ∈ {2, 3, 5, 7} speeds up grokking of the other sub-tasks (q = 11 … 19).

    One part: per seed, the median t over q ∈ {11, 13, 17, 19} present (censoring-aware);
    Mann–Whitney U, one-sided "miiii seeds later than masked seeds" (Gehan's test); effect
    P(masked earlier). Not the talk's wording (it asks whether masking matters): the project's
    testable stand-in where masked_first is not.
    Not testable: no q in 11 … 19, no masked or miiii runs, too few runs (size); all censored
    (budget).
    """
    study = "masking q ∈ {2,3,5,7} speeds up grokking of the other sub-tasks (q = 11 … 19)"
    qs = list(subtasks)
    mid = [k for k, q in enumerate(qs) if q in MIDDLE]
    if not mid or not masked or not miiii:
        return _untestable("masked_speedup", study, "size", f"sub-tasks {qs}, {len(masked)} masked runs")
    a = [float(np.median([_times(g)[k] for k in mid])) for g in miiii]
    b = [float(np.median([_times(g)[k] for k in mid])) for g in masked]
    if not any(math.isfinite(x) for x in a + b):
        return _untestable("masked_speedup", study, "budget", "q = 11 … 19 censored in every run", len(a) + len(b))
    t = st.mann_whitney(a, b)
    measured = (f"median t of q = 11 … 19 per seed: miiii {', '.join(map(_ep, a))}; masked {', '.join(map(_ep, b))}; "
                f"P(masked earlier) {t.effect_text()}, {t.p_text()}")
    return _judge("masked_speedup", study, measured, [("masked earlier", t.significant)], t)


def attention_digits(reads: Sequence[Sequence[str]]) -> Claim:
    """miiii's heads attend to one digit each (``reads`` per seed, per head: x0 | x1 | both).

    * each (main): per seed, every head reads x0 or x1 (≥ 75 % of ``=``'s attention) and both
      digits are read by some head; sign test over seeds.
    * most: per seed, more than half the heads read one digit; sign test.
    Not testable: too few runs for the sign test (size).
    """
    study = "miiii: the attention heads attend to one digit each (x0 or x1)"
    one = [sum(h in ("x0", "x1") for h in heads) for heads in reads]
    each = st.sign_flags([o == len(h) and {"x0", "x1"} <= set(h) for o, h in zip(one, reads)])
    most = st.sign_flags([2 * o > len(h) for o, h in zip(one, reads)])
    measured = (f"heads on one digit per seed: {', '.join(f'{o}/{len(h)}' for o, h in zip(one, reads)) or 'none'}; "
                f"every head, both digits: {each.p_text()}; most heads: {most.p_text()}")
    parts = [("every head on one digit", each.significant), ("most heads on one digit", most.significant)]
    return _judge("attention_digits", study, measured, parts, each, [most])


def table(claims: Sequence[Claim]) -> dict[str, Any]:
    return {"claims": [c.to_dict() for c in claims]}
