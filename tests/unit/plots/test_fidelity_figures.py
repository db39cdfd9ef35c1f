"""The fidelity figures, on hand-made per-seed numbers: what is drawn, point by point."""

import math

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from scipy import stats as ss

from miiii.pipelines import stats as st
from miiii.plots import fidelity as draw
from miiii.plots.style import render

N = None  # a censored grok time / a run without a correlation


def _points(fig: Figure) -> np.ndarray:
    """Every scatter point of the figure's first axes, (n, 2) in data coordinates."""
    off = [c.get_offsets() for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    return np.concatenate([np.asarray(o, float).reshape(-1, 2) for o in off]) if off else np.zeros((0, 2))


def test_grok_times_draws_every_seed_and_every_censored_time():
    qs = [2, 3, 5, 7]
    groups = {"miiii": [[10, 20, 300, N], [12, 25, N, N]], "masked": [[N, N, 40, 50]] * 3, "basis": []}
    fig = draw.grok_times(qs, groups, epochs=1024)
    assert isinstance(fig, Figure)
    pts = _points(fig)
    assert len(pts) == 2 * 4 + 3 * 4  # one per (seed, q), an empty group draws nothing
    top = pts[:, 1] == 2 * 1024  # censored: on the row above the budget
    assert top.sum() == 3 + 3 * 2
    assert sorted(pts[~top, 1]) == sorted([10, 20, 300, 12, 25] + [40, 50] * 3)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and "censored" in [t.get_text() for t in ax.get_yticklabels()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "3", "5", "7"]
    assert len(fig.legends[0].get_texts()) == 2  # miiii and masked
    assert render(fig, ("png",))["png"][:4] == b"\x89PNG"


@pytest.mark.parametrize("r", [[0.9, 0.95, 0.8, 0.97, 0.9], [-0.95, -0.73, 0.54], [0.3, -0.2]])
def test_fisher_interval_is_the_t_interval_on_z(r):
    z = np.arctanh(r)
    n = len(z)
    half = ss.t.ppf(0.975, n - 1) * z.std(ddof=1) / math.sqrt(n)
    mean, ci = draw.fisher_interval(r + [N, math.nan])  # None and NaN are left out
    assert mean == pytest.approx(np.tanh(z.mean()))
    assert ci == pytest.approx((np.tanh(z.mean() - half), np.tanh(z.mean() + half)))
    ref = ss.ttest_1samp(z, 0.0).confidence_interval(0.95)
    assert ci == pytest.approx((np.tanh(ref.low), np.tanh(ref.high)))
    assert ci == pytest.approx(st.correlation_t(r, 1).interval)  # the interval the pos_corr claims test
    assert draw.fisher_interval([0.5]) == (pytest.approx(0.5), None)
    assert draw.fisher_interval([N]) == (None, None)


def test_pos_corr_draws_seeds_means_and_study_values():
    values = {"nanda": [0.9, 0.95, N, 0.97], "miiii": [-0.6, -0.7, -0.5, -0.65, 0.1]}
    fig = draw.pos_corr(values, {"nanda": 0.95, "miiii": -0.64})
    pts = _points(fig)
    assert len(pts) == 3 + 5  # the run without r is not drawn
    assert sorted(pts[:, 1]) == sorted([0.9, 0.95, 0.97, -0.6, -0.7, -0.5, -0.65, 0.1])
    ax = fig.axes[0]
    means = [ln.get_ydata()[0] for ln in ax.lines if ln.get_marker() == "o"]
    assert means == pytest.approx([draw.fisher_interval(values[k])[0] for k in values])
    study = [c for c in ax.collections if not isinstance(c, PathCollection) and c.get_label() == "study's value"]
    assert len(study) == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["nanda\n(n = 3)", "miiii\n(n = 5)"]
    # one task without any r (every run diverged): drawn without a mean, no error
    assert len(_points(draw.pos_corr({"nanda": [N, N], "miiii": [-0.5]}, {"nanda": 0.95}))) == 1


def test_omega_curves_one_line_per_seed():
    e = [0, 256, 1024, 4096, 16384]
    counts = [[0, 0, 3, 8, 2], [0, 1, 4, 6, 1], [0, 0, 0, 9, 5]]
    fig = draw.omega_curves(e, counts)
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and all(len(ln.get_xdata()) == len(e) for ln in ax.lines)
    assert [list(ln.get_ydata()) for ln in ax.lines] == counts
    assert ax.get_xscale() == "log" and ax.lines[0].get_xdata()[0] == 0.5  # epoch 0 kept on the log axis
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["seed 0", "seed 1", "seed 2"]
    assert len(draw.omega_curves(e, []).axes[0].lines) == 0
