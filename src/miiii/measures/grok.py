"""Training curves (docs/analysis.md, training curves; docs/grok-rule.md): when does each sub-task grok?

The threshold (0.99) is on the *true* validation accuracy; a logged accuracy is a
noisy estimate of it from ``n`` validation samples. With p = 23 and 80 % training data
n = 106, so one wrong example moves the reading by 0.0094 and "first >= 0.99, never
below afterwards" is decided by a single flicker. The rule here, with
THRESHOLD = 0.99, ALPHA = 0.05, WINDOW = 5 and CENSOR = 0.05, readings ``a_i`` at logged
epochs ``e_i`` (sorted; NaN counts as 0, so below):

* ``first``: the first ``e_i`` with ``a_i >= THRESHOLD``. Arrival is judged on the
  reading itself, the best estimate of the true accuracy (as the old rule did).
* A window ``W_j = mean(a_j .. a_{j+WINDOW-1})`` (near the end: of the readings left)
  *holds* when the one-sided Clopper-Pearson upper bound at level ALPHA of ``W_j * n``
  successes in ``n`` trials is >= THRESHOLD: the data do not show that the true accuracy
  fell below it. Tested as n trials, not WINDOW * n, because every logged point re-scores
  the same n examples. With n = 100 or 106 a window holds down to a mean of 3 errors
  (0.970 / 0.972), with n = 6000 down to 0.9878; ``n_valid=None`` means n = inf (the
  window mean itself must be >= THRESHOLD).
* ``sustained``: the first ``e_i`` with ``a_i >= THRESHOLD`` such that every full window
  (WINDOW readings) starting at or after ``i`` holds; or, when fewer than WINDOW readings
  are left from ``i`` on, their mean ``W_i`` holds.
* ``censored``: never sustained, or sustained later than ``end - CENSOR * budget``
  (end = last logged epoch; budget defaults to it): too late to time.
* ``Grok.epoch`` = ``sustained`` unless censored, else None: summary.json's grok_epoch.

So arriving takes a reading >= 0.99 and falling back takes a window that the data place
below 0.99; a single reading a few examples short ends nothing. At n ~ 100 the rule
cannot tell a plateau at true 0.985 from 0.99 (it calls both grokked in > 99 % of
seeds); a plateau is rejected in >= 95 % of seeds only at 0.96 or below (0.97: ~70 %).
At n = 6000 a plateau at 0.985 is always rejected. See docs/grok-rule.md.

``grok_epoch`` keeps the old strict rule, unchanged and under its old name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float, Int
from scipy.special import betaincinv

THRESHOLD = 0.99
ALPHA = 0.05
WINDOW = 5  # logged points; ~5 * 164 epochs on the linear part of the quick preset's log
CENSOR = 0.05  # last fraction of the epoch budget in which a grok cannot be timed


@dataclass(frozen=True)
class Grok:
    """One sub-task's curve under the module's rule (epochs are logged epochs)."""

    first: int | None
    sustained: int | None
    censored: bool

    @property
    def epoch(self) -> int | None:
        """The grok epoch we can time: ``sustained`` unless censored, else None."""
        return None if self.censored else self.sustained


def _holds(a: np.ndarray, n: float, threshold: float, alpha: float) -> np.ndarray:
    """Whether the one-sided (1 - alpha) Clopper-Pearson upper bound of accuracy ``a`` measured
    on n samples reaches ``threshold``, i.e. the data do not reject "true accuracy >= threshold"."""
    if np.isinf(n):
        return a >= threshold
    # Round so that 103/106 stored as float32 is 103 successes, not 102.99998.
    x = np.clip(np.round(a * n, 6), 0.0, n)
    # Upper bound = Beta(1 - alpha; x + 1, n - x) quantile; 1 when every sample is right.
    # The beta form takes a fractional x, which a window mean * n is.
    ub = np.where(x < n, betaincinv(x + 1, np.maximum(n - x, 1e-12), 1 - alpha), 1.0)
    return ub >= threshold


def grok_all(epochs: Int[np.ndarray, " t"], acc: Float[np.ndarray, "t subtask"], n_valid: float | None,
             budget: int | None = None, threshold: float = THRESHOLD, alpha: float = ALPHA,
             window: int = WINDOW) -> list[Grok]:
    """The module's rule (see its docstring) for each column of ``acc``; rows sorted by epoch first."""
    epochs, acc = np.asarray(epochs), np.asarray(acc, np.float64)
    order = np.argsort(epochs, kind="stable")
    epochs, acc = epochs[order], np.nan_to_num(acc[order], nan=0.0)
    t = len(epochs)
    if t == 0:
        return [Grok(None, None, True) for _ in range(acc.shape[1])]
    n = np.inf if n_valid is None else float(n_valid)
    end = int(epochs[-1])
    budget = end if budget is None else int(budget)
    point = acc >= threshold  # (t, s); NaN already 0
    # Forward windows: they look at what follows a point, so a clean step is sustained at the
    # step itself, and one bad reading among good ones (a flicker of a few examples) is
    # averaged out instead of resetting the clock. ok[j] is the window a[j : j + window],
    # cut at the end; only full ones (j <= m) are required of a start i <= m, so the final
    # reading is never judged alone (that would lose ALPHA of the curves sitting exactly at
    # the threshold). A start i > m is judged on the mean of the readings left, ok[i].
    c = np.concatenate([np.zeros((1, acc.shape[1])), np.cumsum(acc, axis=0)])
    lo = np.arange(t)
    hi = np.minimum(lo + window, t)
    ok = _holds((c[hi] - c[lo]) / (hi - lo)[:, None], n, threshold, alpha)  # (t, s)
    m = max(t - window, 0)  # the last full window's start
    out = []
    for s in range(acc.shape[1]):
        hits = np.flatnonzero(point[:, s])
        bad = np.flatnonzero(~ok[: m + 1, s])
        start = 0 if bad.size == 0 else bad[-1] + 1  # every full window from here on holds
        sus = hits[(hits >= start) & ((hits <= m) | ok[hits, s])]
        first = int(epochs[hits[0]]) if hits.size else None
        sustained = int(epochs[sus[0]]) if sus.size else None
        censored = sustained is None or sustained > end - CENSOR * budget
        out.append(Grok(first, sustained, censored))
    return out


def grok(epochs: Int[np.ndarray, " t"], acc: Float[np.ndarray, " t"], n_valid: float | None,
         budget: int | None = None, **kw: float) -> Grok:
    """The module's rule for one curve; ``budget`` defaults to the last logged epoch."""
    return grok_all(epochs, np.asarray(acc)[:, None], n_valid, budget, **kw)[0]


def grok_epochs(epochs: Int[np.ndarray, " t"], acc: Float[np.ndarray, "t subtask"], n_valid: float | None = None,
                budget: int | None = None, **kw: float) -> list[int | None]:
    """``Grok.epoch`` per sub-task. ``n_valid=None`` takes readings as exact (n = inf):
    no noise allowance, but still window smoothing and censoring. Pass the validation-set size."""
    return [g.epoch for g in grok_all(epochs, acc, n_valid, budget, **kw)]


def grok_epoch(epochs: Int[np.ndarray, " t"], acc: Float[np.ndarray, " t"], threshold: float = 0.99) -> int | None:
    """The OLD STRICT rule, kept unchanged for its callers (not the module's rule): the first
    logged epoch with accuracy >= threshold that never falls below it afterwards.

    ``None`` when the last logged accuracy is below the threshold (never grokked). NaN counts as
    below. No noise allowance and no censoring: use ``grok`` for new code.
    """
    epochs, acc = np.asarray(epochs), np.asarray(acc)
    order = np.argsort(epochs, kind="stable")
    epochs, acc = epochs[order], acc[order]
    below = np.flatnonzero(~(acc >= threshold))  # NaN counts as below
    start = 0 if below.size == 0 else below[-1] + 1
    return int(epochs[start]) if start < len(epochs) else None


def grok_order(subtasks: list[int], groks: list[int | None]) -> list[list[int]]:
    """Sub-tasks grouped by grok epoch, earliest first (ties grouped); never-grokked left out."""
    by: dict[int, list[int]] = {}
    for q, g in zip(subtasks, groks):
        if g is not None:
            by.setdefault(int(g), []).append(int(q))
    return [by[e] for e in sorted(by)]


def time_to_grok(groks: list[Grok], judged: list[bool], clock: list[tuple[int, float]] | None = None
                 ) -> dict[str, int | float | bool | None]:
    """The project's headline speed figure for one run: when its LAST judged sub-task groks.

    ``judged``: which sub-tasks count (those in the loss; a masked one is not expected to grok).
    ``epoch`` is the largest ``Grok.epoch`` over them when every one has grokked (robust rule,
    not censored), else None with ``censored`` True; ``grokked`` of ``of`` counts them either way.
    ``seconds``: the run directory's wall-clock seconds at that epoch, linearly interpolated in
    ``clock`` ((epoch, seconds) at chunk ends, from (0, 0)); None without a clock or when censored.
    """
    sel = [g for g, j in zip(groks, judged) if j] or list(groks)
    done = [g.epoch for g in sel if g.epoch is not None]
    epoch = max(done) if len(done) == len(sel) and sel else None
    seconds = None
    if epoch is not None and clock:
        e, s = zip(*sorted({(0, 0.0), *((int(a), float(b)) for a, b in clock)}))
        seconds = round(float(np.interp(epoch, e, s)), 3)
    return {"epoch": epoch, "seconds": seconds, "censored": epoch is None, "grokked": len(done), "of": len(sel)}
