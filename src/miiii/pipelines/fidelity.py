"""The study's claims (docs/study.md, "Claims and their tests") and the pre-stated test of each.

Every rule is a pure function from measured numbers (plain Python lists and dicts) to a
``Claim``: the study's statement, the measurement with its effect size, 95 % interval, n and
p, and a verdict decided here, never by hand. A claim has parts, each with a status and the
comparison it is made against (chance, the control role, a range); the verdicts and statuses
are ``pipelines.verdicts``'s five and four, the statistics ``pipelines.stats``'s (α = 0.05,
one-sided in the direction the study states).

The rules were first written from the study's wording before any result of the multi-seed run
set was seen. On 2026-12-07, after an audit of the committed results, they changed as
docs/study.md ("Rule changes") lists: five verdicts instead of four, tie-aware reachability,
censoring-aware order parts, parts judged against their control, ``key_freqs`` on the number of
key frequencies, ``omega_spike`` on a non-trivial baseline and the grok epochs of q >= 7.

Grok times are censoring-aware (``verdicts.before``): t = ``grok_epoch``, or +inf when censored.
With one fixed censoring time for all runs, the Mann–Whitney test on such times is Gehan's
generalised Wilcoxon test.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from . import stats as st
from .verdicts import (
    CONTROL,
    DEFINITIONS,
    DIFFERS,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    OPEN,
    PART_DEFINITIONS,
    PARTLY,
    REPRODUCED,
    UNTESTABLE,
    VERDICTS,
    Claim,
    Part,
    against_control,
    before,
    chain,
    count_text,
    finite,
    judge,
    part,
    untestable,
)

__all__ = ["REPRODUCED", "PARTLY", "DIFFERS", "INCONCLUSIVE", "UNTESTABLE", "VERDICTS", "HOLDS", "FAILS", "OPEN",
           "CONTROL", "Claim", "Part", "grok_order", "others_late", "pos_corr", "pos_corr_contrast", "key_freqs",
           "omega_spike", "lambda_zero", "dropout_zero", "masked_first", "masked_speedup", "attention_digits",
           "table"]

SMALL = (2, 3, 5, 7)
MIDDLE = (11, 13, 17, 19)
INF = math.inf
NANDA_KEYS = (3, 7)  # "≈ 5 key frequencies": 5 ± 2, stated 2026-12-07 after earlier results were seen
OMEGA_BASE_FRAC = 1 / 256  # the study's first |ω| reading (0 at epoch 256 of 65,536)
OMEGA_LEAD = 4  # the study logs |ω| at powers of 4: a peak one log step before a grok coincides with it

Grok = Sequence[int | None]  # grok epoch per sub-task (None: not within budget, or censored)


def _times(g: Grok) -> list[float]:
    return [INF if e is None else float(e) for e in g]


def _ep(x: float) -> str:
    return "censored" if not math.isfinite(x) else f"{x:,.0f}"


def _in_most(name: str, states: Sequence[bool | None], chance: float, comparison: str) -> tuple[Part, st.Test]:
    """A per-seed pattern claimed in most seeds, over the decided seeds (undetermined ones left out of
    the test, never failures). Holds if significantly above ``chance``, in at least half the decided
    seeds, and at least half of all seeds are decided (a claim about most seeds cannot rest on a few);
    fails if significantly rarer than half."""
    t = st.sign_states(states, chance, claim_rate=0.5)
    k = sum(s is True for s in states)
    note = count_text(states)
    enough = 2 * t.n >= len(states)
    if not enough:
        note += "; most seeds undetermined"
    return part(name, t, comparison, note, extra=2 * k >= t.n > 0 and enough), t


def grok_order(subtasks: Sequence[int], seeds: Sequence[Grok]) -> Claim:
    """q = 2, 3, 5, 7 grok first, in that order (miiii seeds; censoring-aware, ``verdicts.before``).

    * small q earlier (main): mean over seeds of Kendall tau-b between q and t (all sub-tasks;
      seeds where every t ties are left out) > 0; p from permuting t within each seed.
    * in that order: per seed, t(2) < t(3) < t(5) < t(7), each pair decided by censoring where it
      can be (a censored t(7) is after a finite t(5)); a seed with an undetermined pair and no
      failing one is undetermined. Against chance 1/24, in at least half the decided seeds.
    * first: per seed, the last of t(2 … 7) before the first t(q > 7); against chance
      1 / C(m, 4) (m sub-tasks), in at least half the decided seeds. Left out when p <= 11.
    Not testable: p <= 7 (size); no sub-task grokked in any seed (budget).
    """
    id_, study, qs = "grok_order", "q = 2, 3, 5, 7 grok first, in that order", list(subtasks)
    if any(q not in qs for q in SMALL):
        return untestable(id_, study, "size", f"sub-tasks {qs} lack some of q = 2, 3, 5, 7")
    ts = [_times(g) for g in seeds]
    if not any(math.isfinite(t) for row in ts for t in row):
        return untestable(id_, study, "budget", "no sub-task grokked within the budget in any seed", len(ts))
    trend = st.kendall_trend(qs, ts)
    i = [qs.index(q) for q in SMALL]
    order = [chain([before(row[a], row[b]) for a, b in zip(i, i[1:])]) for row in ts]
    p_order, t_order = _in_most("2 < 3 < 5 < 7", order, 1 / 24, "chance 1/24")
    parts = [part("small q earlier (Kendall τ > 0)", trend, "a random order within each seed"), p_order]
    measured = (f"mean Kendall τ(q, t) {trend.effect_text('+.2f')} over {trend.n} seeds, {trend.p_text()}; "
                f"t(2) < t(3) < t(5) < t(7) in {count_text(order)} ({t_order.p_text()} against chance 1/24)")
    big = [k for k, q in enumerate(qs) if q > 7]
    if big:
        first = [before(max(row[k] for k in i), min(row[k] for k in big)) for row in ts]
        chance = 1 / math.comb(len(qs), 4)
        p_first, t_first = _in_most("2, 3, 5, 7 before every q > 7", first, chance, f"chance {chance:.3g}")
        parts.append(p_first)
        measured += f"; all of 2, 3, 5, 7 before every q > 7 in {count_text(first)} ({t_first.p_text()} against chance)"
    return judge(id_, study, measured, parts, trend)


def others_late(subtasks: Sequence[int], seeds: Sequence[Grok], p: int | None = None,
                budget: int | None = None) -> Claim:
    """The sub-tasks q > 7 grok later than q <= 7, together (around epoch 40,000 at p = 113).

    * later (main): per seed, median t over q <= 7 before median t over q > 7 (censoring-aware:
      both medians censored is undetermined); sign test over the decided seeds.
    * together: per seed, max t / min t <= 2 over q > 7; with some censored, it fails when
      2 · min t is before the censoring point (0.95 · ``budget``), else it is undetermined.
    * around 40,000 (only at p = 113): the median over seeds of the per-seed median grok epoch
      of the grokked q > 7 lies in [20,000, 80,000] (a factor 2); no test.
    Not testable: no q > 7 (size); no q > 7 grokked in any seed (budget).
    """
    id_, qs = "others_late", list(subtasks)
    study = "the other sub-tasks (q > 7) grok later, together (around epoch 40,000 at p = 113)"
    big, small = [k for k, q in enumerate(qs) if q > 7], [k for k, q in enumerate(qs) if q <= 7]
    if not big or 7 not in qs:
        return untestable(id_, study, "size", f"sub-tasks {qs}: no q > 7 at this p")
    ts = [_times(g) for g in seeds]
    if not any(math.isfinite(row[k]) for row in ts for k in big):
        return untestable(id_, study, "budget", "no q > 7 grokked within the budget in any seed", len(ts))
    late = [before(float(np.median([row[k] for k in small])), float(np.median([row[k] for k in big]))) for row in ts]
    cut = 0.95 * budget if budget else None

    def together(row: list[float]) -> bool | None:
        b = [row[k] for k in big]
        lo = min(b)
        if all(math.isfinite(x) for x in b):
            return max(b) <= 2 * max(lo, 1.0)
        if math.isfinite(lo) and (max(finite(b)) > 2 * max(lo, 1.0) or (cut is not None and 2 * lo < cut)):
            return False
        return None

    tog = [together(row) for row in ts]
    t_late, t_tog = st.sign_states(late), st.sign_states(tog)
    parts = [part("later", t_late, "q ≤ 7 in the same seed", count_text(late)),
             part("together (within a factor 2)", t_tog, "", count_text(tog))]
    measured = (f"median t of q > 7 after that of q ≤ 7 in {count_text(late)} ({t_late.p_text()}); all q > 7 "
                f"within a factor 2 in {count_text(tog)} ({t_tog.p_text()})")
    mids = [float(np.median(done)) for row in ts if (done := finite([row[k] for k in big]))]
    if mids:
        measured += f"; median grok epoch of grokked q > 7 {statistics.median(mids):,.0f}"
    if p == 113:
        ok = bool(mids) and 20_000 <= statistics.median(mids) <= 80_000
        parts.append(Part("around epoch 40,000", HOLDS if ok else FAILS if mids else OPEN, "[20,000, 80,000]",
                          kind="interval"))
    return judge(id_, study, measured, parts, t_late, sum(s is None for s in late))


def _value_part(name: str, ci: tuple[float, float] | None, value: float) -> Part:
    """The interval holds the claim's value and excludes 0: holds; excludes the value: fails."""
    if ci is None:
        return Part(name, OPEN, "0", "no interval", "interval")
    inside = ci[0] <= value <= ci[1]
    status = HOLDS if inside and (ci[0] > 0 or ci[1] < 0) else OPEN if inside else FAILS
    return Part(name, status, "0", f"95 % interval [{ci[0]:+.2f}, {ci[1]:+.2f}]", "interval")


def pos_corr(task: str, study_value: float, values: Sequence[float | None]) -> Claim:
    """Positional correlation r of W_pos[0] and W_pos[1] has the study's sign and value.

    * sign (main): one-sample t-test of Fisher z = atanh(r) over seeds, one-sided in the sign
      of ``study_value``; fails when significant the other way.
    * value: the 95 % interval of the mean r (back-transformed from z) contains ``study_value``
      and excludes 0: holds; excludes ``study_value``: fails; holds both: open.
    Not testable: fewer than 2 runs with a defined r (size).
    """
    id_ = f"pos_corr_{task}"
    study = f"{task}: Pearson correlation of the two input positions' embeddings = {study_value}"
    vals = [float(v) for v in values if v is not None and math.isfinite(v)]
    t = st.correlation_t(vals, 1 if study_value > 0 else -1)
    shown = ", ".join(f"{v:+.2f}" for v in vals) or "none"
    measured = f"r per seed {shown}; mean {t.effect_text('+.2f')}, {t.p_text()}"
    parts = [part("sign", t, "0"), _value_part(f"value {study_value} in the interval", t.interval, study_value)]
    return judge(id_, study, measured, parts, t)


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
    return judge("pos_corr_contrast", study, measured, [part("nanda above miiii", t, "miiii")], t)


def median_interval(xs: Sequence[float]) -> tuple[float, float]:
    """Distribution-free interval of the median from order statistics: the widest [x_(k), x_(n-k+1)]
    whose coverage, 1 - 2 P(Binom(n, 1/2) < k), is at least 95 %, or [min, max] when none is."""
    v = sorted(xs)
    n = len(v)
    k = 1
    while k + 1 <= n - k and 1 - 2 * sps.binom.cdf(k, n, 0.5) >= 0.95:  # cdf(k) = P(X <= k) = P(X < k+1)
        k += 1
    return float(v[k - 1]), float(v[n - k])


def key_freqs(nanda: Sequence[dict], miiii: Sequence[dict], basis: Sequence[dict]) -> Claim:
    """W_E's key frequencies: ≈5 for nanda, many more for miiii, none for basis (each input: a
    list of per-seed ``fourier`` dicts with ``n_key`` and ``n_eff``).

    Judged on the study's own quantity, the number of key frequencies ``n_key``; N_eff (the
    spread of W_E's norm over frequencies) is reported beside it, not judged: the unstructured
    basis control has the largest N_eff of all.

    * more for miiii (main): Mann–Whitney U, one-sided "miiii's n_key > nanda's".
    * nanda ≈ 5: the distribution-free interval of nanda's median n_key (``median_interval``)
      inside ``NANDA_KEYS`` (3 … 7): holds; outside it: fails; across its edge: open.
    * basis none: every basis seed has ``n_key`` = 0 (the key test's family-wise level is 1e-3
      per model): holds; any basis seed with a key frequency: fails. Left out without basis.
    The range and the switch from N_eff to n_key were set on 2026-12-07, after earlier results
    were seen. Not testable: no nanda or no miiii runs, or too few for the test (size).
    """
    study = "key frequencies of W_E: ≈5 for nanda, many more for miiii, none for basis"
    if not nanda or not miiii:
        return untestable("key_freqs", study, "size", "no nanda or no miiii run with parameters")
    t = st.mann_whitney([m["n_key"] for m in miiii], [m["n_key"] for m in nanda])
    eff = st.mann_whitney([m["n_eff"] for m in miiii], [m["n_eff"] for m in nanda])
    keys = lambda rs: ", ".join(str(r["n_key"]) for r in rs)  # noqa: E731
    lo, hi = median_interval([m["n_key"] for m in nanda])
    few = HOLDS if NANDA_KEYS[0] <= lo and hi <= NANDA_KEYS[1] else FAILS if hi < NANDA_KEYS[0] or lo > NANDA_KEYS[1] \
        else OPEN
    parts = [part("miiii has more key frequencies", t, "nanda"),
             Part(f"nanda has {NANDA_KEYS[0]}–{NANDA_KEYS[1]} (≈ 5)", few, f"{NANDA_KEYS[0]}–{NANDA_KEYS[1]}",
                  f"median interval [{lo:g}, {hi:g}]", "interval")]
    med = lambda rs: statistics.median(r["n_eff"] for r in rs)  # noqa: E731
    measured = (f"key frequencies per seed: nanda {keys(nanda)}, miiii {keys(miiii)}; P(miiii > nanda) "
                f"{t.effect_text()}, {t.p_text()}; beside it, N_eff median nanda {med(nanda):.1f}, miiii "
                f"{med(miiii):.1f} (P(miiii > nanda) {eff.effect_text()}, {eff.p_text()})")
    if basis:
        none = all(b["n_key"] == 0 for b in basis)
        parts.append(Part("basis has none", HOLDS if none else FAILS, "0", kind="interval"))
        measured += f"; basis {keys(basis)} (N_eff {med(basis):.1f})"
    return judge("key_freqs", study, measured, parts, t)


def omega_spike(epochs: Sequence[int], counts: Sequence[Sequence[int]], subtasks: Sequence[int] = (),
                seeds: Sequence[Grok] = (), grokked: bool = True, label: str = "calibrated |ω|",
                n_freqs: int | None = None) -> Claim:
    """|ω| rises while the harder sub-tasks generalise, then falls (judged on ``counts``).

    The baseline of a seed is its count at the first logged epoch >= ``OMEGA_BASE_FRAC`` of the
    budget (the study's first reading, 0 at epoch 256 of 65,536); the peak is the largest count
    at or after it (the first such epoch).
    * rises then falls (main): per seed, peak >= baseline + 2 and >= 1.25 × baseline, at an
      epoch before the last, and the last count <= 80 % of the peak; sign test.
    * while q >= 7 generalise: per seed, the peak epoch lies in [t_first / ``OMEGA_LEAD``,
      t_last], t_first the first grok epoch among q >= 7 and t_last the last (the budget when
      some is censored): holds; before or after: fails; no q >= 7 grokked: undetermined. Sign test.
    Both were set on 2026-12-07, after earlier results were seen (the count used,
    ``omega.count_calibrated``, is the project's, defined after the study's count saturated).
    Not testable: < 3 logged epochs or no run (size); no sub-task grokked (budget); the baseline
    at every frequency (``n_freqs``) in every seed (saturation).
    """
    study = ("|ω| = 0, 0, 10, 18, 10 at epochs 256, 1024, 4096, 16384, 65536: rises while the harder sub-tasks "
             "generalise, then falls")
    if len(epochs) < 3 or not counts:
        return untestable("omega_spike", study, "size", "fewer than 3 logged epochs or no run")
    if not grokked:
        return untestable("omega_spike", study, "budget", "no sub-task grokked: nothing to spike with", len(counts))
    e = np.asarray(epochs)
    after = np.flatnonzero(e >= OMEGA_BASE_FRAC * e[-1])
    b0 = int(after[0])
    if n_freqs is not None and all(c[b0] >= n_freqs for c in counts):
        return untestable("omega_spike", study, "saturation", f"every frequency active at epoch {e[b0]}", len(counts))
    hard = [k for k, q in enumerate(subtasks) if q >= 7]
    rows, flags, timing = [], [], []
    for s, c in enumerate(counts):
        c = np.asarray(c)
        k = b0 + int(np.argmax(c[b0:]))
        base, peak = int(c[b0]), int(c[k])
        flags.append(bool(peak >= base + 2 and peak >= 1.25 * base and k < len(c) - 1 and c[-1] <= 0.8 * peak))
        rows.append(f"{base}→{peak} (epoch {e[k]})→{int(c[-1])}")
        ts = [_times(seeds[s])[j] for j in hard] if hard and s < len(seeds) else []
        done = finite(ts)
        if not done:
            timing.append(None)
        else:
            last = max(ts) if all(math.isfinite(x) for x in ts) else float(e[-1])
            timing.append(bool(min(done) / OMEGA_LEAD <= e[k] <= last))
    t = st.sign_flags(flags)
    parts = [part(f"rises from the count at epoch {e[b0]}, then falls", t, "the baseline")]
    measured = (f"{label} baseline (epoch {e[b0]})→peak→end per seed: {'; '.join(rows)}; rise and fall in "
                f"{sum(flags)}/{len(flags)} ({t.p_text()})")
    if hard:
        tt = st.sign_states(timing)
        parts.append(part("peak while q ≥ 7 generalise", tt, f"their grok epochs (÷{OMEGA_LEAD} … last)",
                          count_text(timing)))
        measured += f"; peak within the generalisation of q ≥ 7 in {count_text(timing)} ({tt.p_text()})"
    return judge("omega_spike", study, measured, parts, t)


def lambda_zero(with_filter: Sequence[Grok], without: Sequence[Grok]) -> Claim:
    """Without GrokFast (λ = 0) the task does not grok within the budget (λ > 0: miiii seeds).

    * fewer (main): Mann–Whitney U, one-sided "λ > 0 seeds grok more sub-tasks than λ = 0";
      fails when λ = 0 grokked significantly more.
    * not within budget: per λ = 0 seed, some sub-task is not grokked; sign test. Its control is
      the same sign test on the λ > 0 seeds: when that holds too, the part is not counted.
    Not testable: a role without runs, or too few for the main test (size); nothing grokked in
    either role (budget).
    """
    study = "without GrokFast (λ = 0) the task does not grok within the budget"
    a = [sum(e is not None for e in g) for g in with_filter]
    b = [sum(e is not None for e in g) for g in without]
    if not a or not b:
        return untestable("lambda_zero", study, "size", "no λ = 0 or no λ > 0 run")
    if sum(a) + sum(b) == 0:
        return untestable("lambda_zero", study, "budget", "no sub-task grokked with or without λ", len(a) + len(b))
    t = st.mann_whitney(a, b)
    left = st.sign_flags([k < len(g) for k, g in zip(b, without)])
    control = st.sign_flags([k < len(g) for k, g in zip(a, with_filter)])
    measured = (f"sub-tasks grokked per seed: λ > 0 {a}, λ = 0 {b} (of {len(without[0])}); P(λ > 0 more) "
                f"{t.effect_text()}, {t.p_text()} (opposite p = {t.p_opposite:.3g}); some sub-task ungrokked in "
                f"{left.effect:.0%} of λ = 0 seeds ({left.p_text()}) and {control.effect:.0%} of λ > 0 seeds")
    parts = [part("fewer sub-tasks grok with λ = 0", t, "λ > 0"),
             against_control(part("λ = 0 leaves some sub-task ungrokked", left), control, "λ > 0")]
    return judge("lambda_zero", study, measured, parts, t)


def dropout_zero(subtasks: Sequence[int], miiii: Sequence[Grok], d0: Sequence[Grok],
                 d0_train: Sequence[Sequence[float]], miiii_train: Sequence[Sequence[float]] = ()) -> Claim:
    """With dropout 0 the model overfits every sub-task but q ∈ {2, 3} (dropout > 0: miiii).

    * fewer (main): Mann–Whitney U, one-sided "dropout > 0 seeds grok more q ≥ 5 than dropout 0".
    * overfit: per dropout-0 seed, every q ≥ 5 has final train accuracy ≥ 0.99 and is not
      grokked; sign test. Control: the same on the dropout > 0 seeds (``miiii_train``); when it
      holds there too, the part is not counted.
    * q = 2, 3 grok (as with dropout): per dropout-0 seed, both grok; sign test.
    Not testable: q = 2 or 3 missing, no q ≥ 5, a role without runs, too few runs (size); no
    q ≥ 5 grokked in any dropout > 0 seed (budget: then dropout 0 cannot be what prevents it).
    """
    study = "with dropout 0 the model overfits every sub-task but q ∈ {2, 3}"
    qs = list(subtasks)
    rest = [k for k, q in enumerate(qs) if q >= 5]
    if 2 not in qs or 3 not in qs or not rest or not miiii or not d0:
        return untestable("dropout_zero", study, "size", f"sub-tasks {qs}, {len(miiii)} + {len(d0)} runs")
    base = [sum(g[k] is not None for k in rest) for g in miiii]
    drop = [sum(g[k] is not None for k in rest) for g in d0]
    if sum(base) == 0:
        return untestable("dropout_zero", study, "budget", "no q ≥ 5 grokked with dropout > 0 either",
                          len(base) + len(drop))
    t = st.mann_whitney(base, drop)
    overfit = lambda gs, accs: [all(g[k] is None and acc[k] >= 0.99 for k in rest) for g, acc in zip(gs, accs)]  # noqa: E731
    over = st.sign_flags(overfit(d0, d0_train))
    ctl = st.sign_flags(overfit(miiii, miiii_train)) if miiii_train else None
    i2, i3 = qs.index(2), qs.index(3)
    small = st.sign_flags([g[i2] is not None and g[i3] is not None for g in d0])
    measured = (f"q ≥ 5 grokked per seed: dropout > 0 {base}, dropout 0 {drop} (of {len(rest)}); P(more with dropout)"
                f" {t.effect_text()}, {t.p_text()}; every q ≥ 5 overfit in {over.effect:.0%} of dropout-0 seeds "
                f"({over.p_text()})" + (f" and {ctl.effect:.0%} of dropout > 0 seeds" if ctl else "")
                + f"; q = 2, 3 grokked in {small.effect:.0%} ({small.p_text()})")
    p_over = part("every q ≥ 5 overfits", over)
    parts = [part("fewer q ≥ 5 grok without dropout", t, "dropout > 0"),
             against_control(p_over, ctl, "dropout > 0") if ctl else p_over,
             part("q = 2, 3 grok (as with dropout)", small)]
    return judge("dropout_zero", study, measured, parts, t)


def masked_first(subtasks: Sequence[int], masked: Sequence[Grok]) -> Claim:
    """With q ∈ {2, 3, 5, 7} masked, q = 11, 13, 17, 19 are learnt first (masked seeds).

    One part: per seed, the last of the four before the first in-loss q > 19 (censoring-aware);
    against the chance rate 1 / C(m, 4) (m in-loss sub-tasks), in at least half the decided seeds.
    Not testable: p <= 23 (size: the loss then holds only q = 11 … 19, or fewer, so "first
    among the in-loss sub-tasks" is empty), no masked runs (size), none of the four grokked
    (budget).
    """
    study = "with q ∈ {2,3,5,7} masked, q = 11, 13, 17, 19 are learnt first"
    qs = list(subtasks)
    later = [k for k, q in enumerate(qs) if q > 19]
    if any(q not in qs for q in MIDDLE) or not later:
        return untestable("masked_first", study, "size", f"sub-tasks {qs}: the loss holds no q > 19, so 'first' "
                          "among the in-loss sub-tasks is empty (see masked_speedup)")
    if not masked:
        return untestable("masked_first", study, "size", "no masked runs")
    mid = [qs.index(q) for q in MIDDLE]
    ts = [_times(g) for g in masked]
    if not any(math.isfinite(row[k]) for row in ts for k in mid):
        return untestable("masked_first", study, "budget", "none of q = 11 … 19 grokked", len(ts))
    states = [before(max(r[j] for j in mid), min(r[j] for j in later)) for r in ts]
    chance = 1 / math.comb(len(mid) + len(later), 4)
    p_first, t = _in_most("11, 13, 17, 19 first", states, chance, f"chance {chance:.3g}")
    measured = f"q = 11 … 19 all before every in-loss q > 19 in {count_text(states)} ({t.p_text()} against chance)"
    return judge("masked_first", study, measured, [p_first], t, sum(s is None for s in states))


def masked_speedup(subtasks: Sequence[int], miiii: Sequence[Grok], masked: Sequence[Grok]) -> Claim:
    """Masking q ∈ {2, 3, 5, 7} speeds up grokking of the other sub-tasks (q = 11 … 19).

    One part: per seed, the median t over q ∈ {11, 13, 17, 19} present (censoring-aware);
    Mann–Whitney U, one-sided "miiii seeds later than masked seeds" (Gehan's test); effect
    P(masked earlier). Not the talk's wording (it asks whether masking matters): the project's
    testable stand-in where masked_first is not.
    Not testable: no q in 11 … 19, no masked or miiii runs, or so many censored medians that the
    exact test cannot reach α on the values observed (size); all censored (budget).
    """
    study = "masking q ∈ {2,3,5,7} speeds up grokking of the other sub-tasks (q = 11 … 19)"
    qs = list(subtasks)
    mid = [k for k, q in enumerate(qs) if q in MIDDLE]
    if not mid or not masked or not miiii:
        return untestable("masked_speedup", study, "size", f"sub-tasks {qs}, {len(masked)} masked runs")
    a = [float(np.median([_times(g)[k] for k in mid])) for g in miiii]
    b = [float(np.median([_times(g)[k] for k in mid])) for g in masked]
    if not any(math.isfinite(x) for x in a + b):
        return untestable("masked_speedup", study, "budget", "q = 11 … 19 censored in every run", len(a) + len(b))
    t = st.mann_whitney(a, b)
    measured = (f"median t of q = 11 … 19 per seed: miiii {', '.join(map(_ep, a))}; masked {', '.join(map(_ep, b))}; "
                f"P(masked earlier) {t.effect_text()}, {t.p_text()}")
    return judge("masked_speedup", study, measured, [part("masked earlier", t, "miiii")], t)


def attention_digits(reads: Sequence[Sequence[str]]) -> Claim:
    """miiii's heads attend to one digit each (``reads`` per seed, per head: x0 | x1 | both).

    * each (main): per seed, every head reads x0 or x1 (≥ 75 % of ``=``'s attention) and both
      digits are read by some head; sign test.
    * most: per seed, more than half the heads read one digit; sign test.
    Not testable: too few runs for the sign test (size).
    """
    study = "miiii: the attention heads attend to one digit each (x0 or x1)"
    one = [sum(h in ("x0", "x1") for h in heads) for heads in reads]
    each = st.sign_flags([o == len(h) and {"x0", "x1"} <= set(h) for o, h in zip(one, reads)])
    most = st.sign_flags([2 * o > len(h) for o, h in zip(one, reads)])
    measured = (f"heads on one digit per seed: {', '.join(f'{o}/{len(h)}' for o, h in zip(one, reads)) or 'none'}; "
                f"every head, both digits: {each.p_text()}; most heads: {most.p_text()}")
    parts = [part("every head on one digit", each, "half the seeds"), part("most heads on one digit", most,
                                                                          "half the seeds")]
    return judge("attention_digits", study, measured, parts, each)


def table(claims: Sequence[Claim]) -> dict:
    return {"definitions": {"verdicts": DEFINITIONS, "parts": PART_DEFINITIONS},
            "claims": [c.to_dict() for c in claims]}
