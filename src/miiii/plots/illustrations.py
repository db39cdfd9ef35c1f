"""The study's illustrations (docs/analysis.md, figures), independent of any run.

* ``polar_primes`` / ``polar_multiples``: every n < p^2 at polar coordinates (r, theta) =
  (n, n mod 2 pi) — n radians around, n out — with the primes, or the multiples of chosen
  primes, highlighted. Multiples of q line up in spirals/rays, primes avoid the rays of
  small primes' multiples: the structure the model must find.
* ``input_grid`` / ``target_grids``: the task for a small p: X, the number n = x0 + p x1 at
  each (x0, x1), and Y, one grid per prime q < p of n mod q (one sub-task each).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..config import primes_below
from .style import CMAP, PALETTE, figure, styled


def is_prime(n: np.ndarray) -> np.ndarray:
    n = np.asarray(n)
    top = int(n.max()) + 1 if n.size else 2
    sieve = np.ones(max(top, 2), bool)
    sieve[:2] = False
    for i in range(2, int(top**0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = False
    return sieve[n]


def _polar(title: str) -> tuple[Figure, object]:
    fig = figure(1, 1, height=5.0, width=5.0)[0]
    fig.clear()
    ax = fig.add_subplot(projection="polar")
    ax.set_title(title)
    ax.set_yticklabels([])
    ax.grid(alpha=0.2)
    return fig, ax


@styled
def polar_primes(p: int) -> Figure:
    n = np.arange(p * p)
    fig, ax = _polar(f"n < {p}² = {p * p} at (r, θ) = (n, n mod 2π): primes highlighted")
    pr = is_prime(n)
    ax.scatter(n[~pr], n[~pr], s=0.6, color=PALETTE[7], alpha=0.35, lw=0, label="composite", rasterized=True)
    ax.scatter(n[pr], n[pr], s=2.0, color=PALETTE[3], lw=0, label=f"prime ({pr.sum()})", rasterized=True)
    ax.legend(loc="lower left", bbox_to_anchor=(-0.1, -0.12), markerscale=4)
    return fig


@styled
def polar_multiples(p: int, qs: tuple[int, ...] = (2, 3, 5, 7)) -> Figure:
    """One polar panel per prime q: its multiples against all n < p^2."""
    n = np.arange(p * p)
    cols = min(len(qs), 2)
    rows = -(-len(qs) // cols)
    fig = figure(1, 1, height=3.4 * rows + 0.4, width=3.4 * cols)[0]
    fig.clear()
    for j, q in enumerate(qs):
        ax = fig.add_subplot(rows, cols, j + 1, projection="polar")
        m = n[n % q == 0]
        ax.scatter(n, n, s=0.3, color=PALETTE[7], alpha=0.25, lw=0, rasterized=True)
        ax.scatter(m, m, s=0.9, color=PALETTE[j % 10], lw=0, rasterized=True)
        ax.set_title(f"multiples of {q}")
        ax.set_yticklabels([])
        ax.set_xticklabels([])
        ax.grid(alpha=0.2)
    fig.suptitle(f"n < {p}\u00b2 at (r, \u03b8) = (n, n mod 2\u03c0): multiples of chosen primes")
    return fig


def _annotate(ax, grid: np.ndarray, p: int) -> None:
    if p <= 13:
        for (i, j), v in np.ndenumerate(grid):
            light = v > 0.6 * grid.max()  # viridis turns yellow at the top: dark text there
            ax.text(j, i, str(v), ha="center", va="center", fontsize=5 if p > 9 else 7, color="k" if light else "w")


@styled
def input_grid(p: int) -> Figure:
    x0, x1 = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    n = x0 + p * x1
    fig, ax = figure(1, 1, height=4.0, width=4.6)
    ax = ax[0, 0]
    im = ax.imshow(n, cmap=CMAP, origin="lower", interpolation="nearest")
    _annotate(ax, n, p)
    ax.set_xlabel("x1 (the p¹ digit)")
    ax.set_ylabel("x0 (the p⁰ digit)")
    ax.set_title(f"Inputs X for p = {p}: n = x0 + {p}·x1")
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="n")
    return fig


@styled
def target_grids(p: int) -> Figure:
    qs = primes_below(p)
    x0, x1 = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    n = x0 + p * x1
    cols = min(len(qs), 4)
    rows = -(-len(qs) // cols)
    fig, ax = figure(rows, cols, height=2.3 * rows + 0.6, width=2.2 * cols + 0.6)
    for a in ax.flat:
        a.set_visible(False)
    for a, q in zip(ax.flat, qs):
        a.set_visible(True)
        y = n % q
        a.imshow(y, cmap=CMAP, origin="lower", interpolation="nearest", vmin=0, vmax=q - 1)
        _annotate(a, y, p)
        a.set_title(f"Y: n mod {q}")
        a.set_xlabel("x1")
        a.set_ylabel("x0")
        a.set_xticks(range(0, p, max(1, p // 5)))
        a.set_yticks(range(0, p, max(1, p // 5)))
        a.grid(False)
    fig.suptitle(f"Targets Y for p = {p}: one sub-task per prime q < {p}")
    return fig


def illustrations(p: int = 113, grid_p: int = 11, qs: tuple[int, ...] = (2, 3, 5, 7)) -> dict[str, Figure]:
    return {"polar_primes": polar_primes(p), "polar_multiples": polar_multiples(p, qs),
            "input_grid": input_grid(grid_p), "target_grids": target_grids(grid_p)}
