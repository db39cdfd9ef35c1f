"""The study's claims (docs/study.md, claims) and the rules that decide each verdict.

Every rule is a pure function from measured numbers to a ``Claim``: the study's figure, ours,
and a verdict decided here, never by hand:

* ``reproduced``  — the measurement shows what the study states, by the rule in the docstring;
* ``differs``     — it was measurable and shows something else;
* ``not testable at this preset`` — the run set cannot decide it (p too small for the
  sub-tasks involved, or nothing grokked within the budget that the claim needs).

Inputs are plain Python numbers, lists and dicts, so the rules are tested on hand-made values.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

REPRODUCED, DIFFERS, UNTESTABLE = "reproduced", "differs", "not testable at this preset"

Grok = Sequence[int | None]  # grok epoch per sub-task (None: not within budget)


@dataclass(frozen=True)
class Claim:
    id: str
    study: str
    measured: str
    verdict: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _spread(xs: Sequence[float]) -> str:
    xs = [float(x) for x in xs]
    if len(xs) == 1:
        return f"{xs[0]:.2f}"
    return f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs):.2f} (n={len(xs)})"


def _fmt(g: int | None) -> str:
    return "—" if g is None else str(g)


def grok_order(subtasks: Sequence[int], seeds: Sequence[Grok]) -> Claim:
    """q = 2, 3, 5, 7 grok first, in that order: in a majority of seeds all four grok and
    their grok epochs are non-decreasing in q and no larger prime groks before q = 7."""
    study = "q = 2, 3, 5, 7 grok first, in that order"
    small = [q for q in (2, 3, 5, 7) if q in subtasks]
    if len(small) < 4 or not seeds:
        return Claim("grok_order", study, f"sub-tasks {list(subtasks)}", UNTESTABLE)
    idx = [list(subtasks).index(q) for q in small]
    rows, ok, testable = [], 0, 0
    for g in seeds:
        ep = [g[i] for i in idx]
        rows.append("/".join(_fmt(e) for e in ep))
        if any(e is None for e in ep):
            continue
        testable += 1
        others = [e for q, e in zip(subtasks, g) if q > 7 and e is not None]
        if ep == sorted(ep) and all(o >= ep[-1] for o in others):
            ok += 1
    measured = f"grok epochs of q=2/3/5/7 per seed: {'; '.join(rows)}"
    if testable == 0:
        return Claim("grok_order", study, measured, UNTESTABLE)
    return Claim("grok_order", study, measured, REPRODUCED if ok * 2 > len(seeds) else DIFFERS)


def others_late(subtasks: Sequence[int], seeds: Sequence[Grok]) -> Claim:
    """The sub-tasks q > 7 grok later than q = 7, together: in a majority of seeds every q > 7
    groks within budget, after q = 7, and their grok epochs span at most a factor 2."""
    study = "the other sub-tasks (q > 7) grok later, together (around epoch 40,000 at p = 113)"
    big = [i for i, q in enumerate(subtasks) if q > 7]
    if not big or 7 not in subtasks or not seeds:
        return Claim("others_late", study, f"sub-tasks {list(subtasks)}", UNTESTABLE)
    i7 = list(subtasks).index(7)
    ok, grokked, rows = 0, 0, []
    for g in seeds:
        late = [g[i] for i in big]
        done = [e for e in late if e is not None]
        rows.append(f"{len(done)}/{len(late)} grokked" + (f", epochs {min(done)}–{max(done)}" if done else ""))
        if len(done) < len(late) or g[i7] is None:
            continue
        grokked += 1
        if min(done) >= g[i7] and max(done) <= 2 * max(min(done), 1):
            ok += 1
    measured = "q > 7 per seed: " + "; ".join(rows)
    if grokked == 0:
        return Claim("others_late", study, measured, UNTESTABLE)
    return Claim("others_late", study, measured, REPRODUCED if ok * 2 > len(seeds) else DIFFERS)


def pos_corr(task: str, study_value: float, values: Sequence[float]) -> Claim:
    """Positional correlation: the mean over seeds has the study's sign and lies within 0.35 of
    it, and a majority of seeds have the study's sign."""
    study = f"{task}: Pearson correlation of the two input positions' embeddings = {study_value}"
    if not values:
        return Claim(f"pos_corr_{task}", study, "no run", UNTESTABLE)
    m = statistics.mean(values)
    same_sign = sum((v > 0) == (study_value > 0) for v in values)
    ok = (m > 0) == (study_value > 0) and abs(m - study_value) <= 0.35 and same_sign * 2 > len(values)
    return Claim(f"pos_corr_{task}", study, _spread(values), REPRODUCED if ok else DIFFERS)


def key_freqs(nanda: Sequence[int], miiii: Sequence[int], basis: Sequence[int]) -> Claim:
    """Key frequencies of W_E: nanda has a few (1–10), miiii more than nanda, basis none."""
    study = "key frequencies of W_E: ≈5 for nanda, many more for miiii, none for basis"
    if not (nanda and miiii and basis):
        return Claim("key_freqs", study, "missing runs", UNTESTABLE)
    n, m, b = statistics.mean(nanda), statistics.mean(miiii), statistics.mean(basis)
    measured = f"nanda {_spread(nanda)}, miiii {_spread(miiii)}, basis {_spread(basis)}"
    ok = 1 <= n <= 10 and m > n and b == 0
    return Claim("key_freqs", study, measured, REPRODUCED if ok else DIFFERS)


def omega_spike(epochs: Sequence[int], counts: Sequence[Sequence[int]], label: str = "|ω|") -> Claim:
    """|omega| rises then falls: in a majority of seeds the peak is at an interior logged epoch,
    and both the first and the last value are at most 80 % of the peak."""
    study = "|ω| = 0, 0, 10, 18, 10 at epochs 256, 1024, 4096, 16384, 65536: rises, then falls"
    if not counts or len(epochs) < 3:
        return Claim("omega_spike", study, "no omega record", UNTESTABLE)
    ok, rows = 0, []
    for c in counts:
        k = max(range(len(c)), key=lambda i: c[i])
        rows.append(f"start {c[0]}, peak {c[k]} at epoch {epochs[k]}, end {c[-1]}")
        if 0 < k < len(c) - 1 and c[0] <= 0.8 * c[k] and c[-1] <= 0.8 * c[k]:
            ok += 1
    measured = f"{label}: " + "; ".join(rows)
    return Claim("omega_spike", study, measured, REPRODUCED if ok * 2 > len(counts) else DIFFERS)


def lambda_zero(with_filter: Grok, without: Grok) -> Claim:
    """λ = 0 does not grok within budget: fewer sub-tasks grok with λ = 0 than with λ > 0 (or
    none at all), from the same seed. Untestable when neither run groks anything."""
    study = "without GrokFast (λ = 0) the task does not grok within the budget"
    a = sum(g is not None for g in with_filter)
    b = sum(g is not None for g in without)
    measured = f"sub-tasks grokked: {b}/{len(without)} with λ = 0 vs {a}/{len(with_filter)} with λ > 0"
    if a == 0 and b == 0:
        return Claim("lambda_zero", study, measured, UNTESTABLE)
    return Claim("lambda_zero", study, measured, REPRODUCED if b < a or b == 0 else DIFFERS)


def dropout_zero(subtasks: Sequence[int], grok: Grok, train_acc: Sequence[float]) -> Claim:
    """Dropout 0 overfits all but q ∈ {2, 3}: q = 2 and 3 grok, every q ≥ 5 fits its training
    set (train accuracy ≥ 0.99) without grokking."""
    study = "with dropout 0 the model overfits every sub-task but q ∈ {2, 3}"
    if 2 not in subtasks or 3 not in subtasks or len(subtasks) < 3:
        return Claim("dropout_zero", study, f"sub-tasks {list(subtasks)}", UNTESTABLE)
    small = [g for q, g in zip(subtasks, grok) if q in (2, 3)]
    rest = [(q, g, a) for q, g, a in zip(subtasks, grok, train_acc) if q >= 5]
    over = [q for q, g, a in rest if g is None and a >= 0.99]
    measured = (f"q=2,3 grok at {', '.join(_fmt(g) for g in small)}; "
                f"{len(over)}/{len(rest)} of q ≥ 5 overfit (train ≥ 0.99, no grok)")
    ok = all(g is not None for g in small) and len(over) == len(rest)
    return Claim("dropout_zero", study, measured, REPRODUCED if ok else DIFFERS)


def masked_first(subtasks: Sequence[int], grok: Grok) -> Claim:
    """With q ∈ {2,3,5,7} out of the loss, q = 11, 13, 17, 19 grok first: all four grok and no
    larger prime groks before the last of them (vacuous when p ≤ 23 has none)."""
    study = "with q ∈ {2,3,5,7} masked, q = 11, 13, 17, 19 are learnt first"
    four = [q for q in (11, 13, 17, 19) if q in subtasks]
    if len(four) < 4:
        return Claim("masked_first", study, f"sub-tasks {list(subtasks)}: p too small", UNTESTABLE)
    g4 = [grok[list(subtasks).index(q)] for q in four]
    later = [g for q, g in zip(subtasks, grok) if q > 19]
    measured = f"q=11/13/17/19 grok at {'/'.join(_fmt(g) for g in g4)}; larger q: " \
               f"{sum(g is not None for g in later)}/{len(later)} grokked"
    if all(g is None for g in g4):
        return Claim("masked_first", study, measured, UNTESTABLE)
    ok = all(g is not None for g in g4) and all(g is None or g >= max(g4) for g in later)
    return Claim("masked_first", study, measured, REPRODUCED if ok else DIFFERS)


def attention_digits(reads: Sequence[Sequence[str]]) -> Claim:
    """miiii's heads attend to one digit each: in a majority of seeds, most heads put >= 75 %
    of the = token's attention on x0 or on x1 (``reads`` per seed, per head: x0 | x1 | both),
    and both digits are read by some head."""
    study = "miiii: the attention heads attend to one digit each (x0 or x1)"
    if not reads:
        return Claim("attention_digits", study, "no run", UNTESTABLE)
    ok, rows = 0, []
    for heads in reads:
        one = sum(h in ("x0", "x1") for h in heads)
        rows.append(f"{one}/{len(heads)} heads on one digit ({', '.join(heads)})")
        if one * 2 > len(heads) and {"x0", "x1"} <= set(heads):
            ok += 1
    return Claim("attention_digits", study, "; ".join(rows), REPRODUCED if ok * 2 > len(reads) else DIFFERS)


def table(claims: Sequence[Claim]) -> dict[str, Any]:
    return {"claims": [c.to_dict() for c in claims]}
