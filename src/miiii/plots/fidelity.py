"""Figures for the fidelity table of ``miiii reproduce``: the per-seed numbers behind a claim.

Every function takes plain lists and numbers (what the claims are judged on, taken from the
analyses by ``pipelines.reproduce``) and returns a matplotlib Figure; nothing here reads or
writes files, and nothing here judges: the verdicts are ``pipelines.fidelity``'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator
from scipy import stats

from .style import PALETTE, WIDTH, figure, log_epoch_axis, styled

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
CENSORED = 2.0  # censored times sit at budget x 2: above every observed time on the log axis


def _t(epochs) -> np.ndarray:
    """Epoch 0 drawn at 0.5 so a log axis keeps it."""
    e = np.asarray(epochs, np.float64)
    return np.where(e > 0, e, 0.5)


def _jitter(n: int, width: float) -> np.ndarray:
    """``n`` evenly spread offsets in [-width/2, width/2]: deterministic, so reruns give the same bytes."""
    return np.linspace(-width / 2, width / 2, n) if n > 1 else np.zeros(n)


def fisher_interval(values: Sequence[float | None], level: float = 0.95) -> tuple[float | None, tuple | None]:
    """Mean correlation and its ``level`` t-interval, both on Fisher z = atanh(r), back-transformed.

    ``values``: per-seed Pearson r (None and NaN left out). Returns ``(mean r, (low, high))``:
    tanh(mean z ± t_{(1+level)/2, n-1} · sd(z) / √n). The mean alone (interval None) for one value,
    ``(None, None)`` for none. r is clipped to ±0.999999 first, as in ``pipelines.stats.correlation_t``,
    so that the drawn interval is the table's.
    """
    r = np.asarray([v for v in values if v is not None and math.isfinite(v)], np.float64)
    if not len(r):
        return None, None
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    m = float(z.mean())
    if len(z) < 2:
        return float(np.tanh(m)), None
    half = stats.t.ppf((1 + level) / 2, len(z) - 1) * z.std(ddof=1) / math.sqrt(len(z))
    return float(np.tanh(m)), (float(np.tanh(m - half)), float(np.tanh(m + half)))


@styled
def grok_times(subtasks: Sequence[int], groups: Mapping[str, Sequence[Sequence[int | None]]],
               epochs: int) -> Figure:
    """Grok epoch of every sub-task q, one dot per seed, the role groups side by side.

    ``subtasks``: the q's (length s). ``groups``: role-group name -> one grok-epoch list (length s,
    int epochs, None = not grokked within the budget) per seed. ``epochs``: the training budget.
    Log-2 y axis (epochs); censored times are drawn hollow on a "censored" row above the budget,
    so a seed that never grokked q is seen, not dropped.
    """
    names = [g for g, seeds in groups.items() if seeds]
    x = np.arange(len(subtasks))
    # wide enough for a lane per group within each q's column, capped so the page can still show it
    fig, ax = figure(1, 1, height=3.4, width=min(12.0, max(WIDTH, 0.2 * len(subtasks) * len(names) + 2.5)))
    ax = ax[0, 0]
    slot = 0.8 / max(1, len(names))
    top = epochs * CENSORED
    for j, name in enumerate(names):
        seeds = groups[name]
        colour, marker = PALETTE[j % len(PALETTE)], MARKERS[j % len(MARKERS)]
        lane = x + (j - (len(names) - 1) / 2) * slot
        off = _jitter(len(seeds), 0.6 * slot)  # seeds spread across the lane, not stacked on one another
        done = [(lane[i] + off[s], g) for s, row in enumerate(seeds) for i, g in enumerate(row) if g is not None]
        cens = [lane[i] + off[s] for s, row in enumerate(seeds) for i, g in enumerate(row) if g is None]
        pts = np.asarray(done, np.float64).reshape(-1, 2)
        ax.scatter(pts[:, 0], _t(pts[:, 1]), s=14, marker=marker, color=colour, alpha=0.85, lw=0,
                   label=f"{name} ({len(seeds)} seed{'s' if len(seeds) != 1 else ''})")
        ax.scatter(cens, np.full(len(cens), top), s=14, marker=marker, facecolors="none", edgecolors=colour, lw=0.8)
    ax.axhline(epochs, color=PALETTE[7], ls="--", lw=0.8)
    ax.set_yscale("log", base=2)
    # from a factor 2 below the earliest grok time (epoch 0 at 0.5) to just above the censored row
    seen = [g for rows in groups.values() for row in rows for g in row if g is not None]
    lo = float(_t([min(seen)])[0]) / 2 if seen else 0.5
    ax.set_ylim(lo, top * 1.6)
    # powers of 2 up to the budget, thinned to about 7 labels; the budget and the censored row get
    # their own labels so the top row cannot be read as an epoch
    k0, k1 = max(-1, math.ceil(math.log2(lo))), max(1, int(math.log2(max(epochs, 2))))
    ticks = [2.0**i for i in range(k0, k1, max(1, -(-(k1 - k0) // 7))) if 2.0**i < epochs / 1.5]
    labels = [f"{t:,.0f}" if t >= 1 else "0" for t in ticks]  # 0.5 is where epoch 0 is drawn
    ax.set_yticks(ticks + [epochs, top], labels + [f"budget {epochs:,}", "censored"])
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xticks(x, [str(q) for q in subtasks])
    ax.set_xlim(-0.6, len(subtasks) - 0.4)
    ax.set_xlabel("sub-task q")
    ax.set_ylabel("grok epoch (full-batch steps)")
    ax.grid(axis="x", visible=False)
    ax.set_title("Grok epoch per sub-task and seed (hollow: not grokked)")
    if names:
        fig.legend(loc="outside lower center", ncols=min(5, len(names)))  # never over the dots
    return fig


@styled
def pos_corr(values: Mapping[str, Sequence[float | None]], study: Mapping[str, float]) -> Figure:
    """Positional correlation r of W_pos[x0] and W_pos[x1] per task: seeds, their mean, the study's value.

    ``values``: task -> per-seed r (None: a run without it, e.g. diverged; left out).
    ``study``: task -> the study's r, drawn as a short red line across the task's column.
    The black dot and bar are the mean r and its 95 % t-interval on Fisher z (``fisher_interval``),
    the interval the pos_corr_* claims test.
    """
    tasks = list(values)
    fig, ax = figure(1, 1, height=3.0, width=max(3.6, 1.4 * len(tasks) + 1.8))
    ax = ax[0, 0]
    labels, seen = [], set()

    def once(label: str) -> str | None:  # one legend entry per kind, from whichever task draws it first
        if label in seen:
            return None
        seen.add(label)
        return label

    for i, task in enumerate(tasks):
        r = [float(v) for v in values[task] if v is not None and math.isfinite(v)]
        labels.append(f"{task}\n(n = {len(r)})")
        ax.scatter(i - 0.15 + _jitter(len(r), 0.12), r, s=16, color=PALETTE[i % len(PALETTE)], alpha=0.8, lw=0,
                   label=once("r per seed") if r else None)
        mean, ci = fisher_interval(r)
        if mean is not None:
            err = [[mean - ci[0]], [ci[1] - mean]] if ci else None
            ax.errorbar([i + 0.15], [mean], yerr=err, fmt="o", ms=5, color="black", capsize=3, lw=1.2,
                        label=once("mean, 95 % t-interval on Fisher z"))
        if task in study:
            ax.hlines(study[task], i - 0.35, i + 0.35, color=PALETTE[3], lw=2,
                      label=once("study's value"))
    ax.axhline(0, color=PALETTE[7], lw=0.8)
    ax.set_xticks(range(len(tasks)), labels)
    ax.set_xlim(-0.6, len(tasks) - 0.4)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("Pearson r of W_pos[x0], W_pos[x1]")
    ax.grid(axis="x", visible=False)
    ax.set_title("Positional correlation per seed")
    fig.legend(loc="outside lower center", ncols=3, fontsize=7)  # never over the dots
    return fig


@styled
def omega_curves(epochs: Sequence[int], counts: Sequence[Sequence[float]],
                 labels: Sequence[str] | None = None) -> Figure:
    """Calibrated |ω| (frequencies active in more neurons than in untrained models) over training.

    ``epochs``: the logged epochs (length t). ``counts``: one length-t count list per seed.
    ``labels``: one legend entry per seed (default "seed i"). One line per seed, log-2 epoch axis
    when the epochs span decades, epoch 0 drawn at 0.5.
    """
    fig, ax = figure(1, 1, height=3.0)
    ax = ax[0, 0]
    labels = list(labels) if labels is not None else [f"seed {i}" for i in range(len(counts))]
    for i, c in enumerate(counts):
        ax.plot(_t(epochs), c, color=PALETTE[i % len(PALETTE)], marker=".", lw=1, label=labels[i])
    log_epoch_axis(ax, epochs if len(epochs) else [0, 1])
    ax.set_ylabel("calibrated |ω| (frequencies)")
    ax.set_title("Calibrated |ω| per miiii seed")
    if len(counts):
        ax.legend(fontsize=7, ncols=2)
    return fig
