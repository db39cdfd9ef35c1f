"""MLP neurons (docs/analysis.md, neurons): each neuron's p x p activation grid in the Fourier basis.

A neuron's grid A[x0, x1] is its ReLU output at ``=``. Its 2-D coefficients are
F = B A B^T (``fourier.fourier_2d``), an orthonormal change of basis, so the squared
coefficients add up to the grid's energy. The frequency-k part of a neuron is the
span of the components whose row and column frequencies are each 0 or k, the constant
(0, 0) excluded: cos/sin kx0, cos/sin kx1 and their products. These parts are disjoint
for different k, so each neuron's variance (its energy without the constant) splits
into per-frequency fractions plus a rest (components mixing two different frequencies).
A neuron's top frequency is the k with the largest fraction; a neuron equal to
cos(2 pi k x0 / p) has top frequency k and fraction 1. Neurons that never vary (dead)
get top frequency 0 and fraction 0.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float, Int

from .fourier import basis_freqs, fourier_2d


def neuron_grids(post: Float[np.ndarray, "sample neuron"], p: int) -> Float[np.ndarray, "neuron p p"]:
    """Per-neuron (x0, x1) grids from activations over all p^2 samples (sample i = (i // p, i % p))."""
    return np.asarray(post).T.reshape(-1, p, p)


def freq_fractions(grids: Float[np.ndarray, "neuron p p"]) -> Float[np.ndarray, "neuron freq"]:
    """Fraction of each neuron's variance in each frequency part; column 0 is 0 by definition."""
    p = grids.shape[-1]
    e = fourier_2d(grids) ** 2
    e[:, 0, 0] = 0.0
    total = e.reshape(len(e), -1).sum(-1)
    f = basis_freqs(p)
    out = np.zeros((len(e), p // 2 + 1))
    for k in range(1, p // 2 + 1):
        rows = (f == 0) | (f == k)
        out[:, k] = e[:, rows][:, :, rows].reshape(len(e), -1).sum(-1)
    live = total > 1e-12 * max(total.max(), 1e-30)
    out[live] /= total[live, None]
    out[~live] = 0.0
    return out


def top_freqs(
    fractions: Float[np.ndarray, "neuron freq"],
) -> tuple[Int[np.ndarray, " neuron"], Float[np.ndarray, " neuron"]]:
    """Each neuron's top frequency and the fraction of its variance that frequency explains."""
    top = fractions.argmax(1)
    return top, fractions[np.arange(len(top)), top]


def clusters(
    top: Int[np.ndarray, " neuron"], frac: Float[np.ndarray, " neuron"], min_frac: float = 0.5
) -> dict[int, int]:
    """Neurons per top frequency, counting only neurons whose top frequency explains >= min_frac."""
    keep = (frac >= min_frac) & (top > 0)
    ks, n = np.unique(top[keep], return_counts=True)
    return {int(k): int(c) for k, c in sorted(zip(ks, n), key=lambda kc: -kc[1])}


def dominant_freqs(top: Int[np.ndarray, " neuron"], frac: Float[np.ndarray, " neuron"], min_frac: float = 0.5,
                   min_share: float = 0.01) -> list[int]:
    """Frequencies that dominate neurons: the top frequency (>= min_frac of the variance) of at
    least max(2, min_share of all) neurons. The noise-robust omega when min_frac is at least
    what untrained neurons reach (``pipelines.analyze`` sets it from untrained reference models: random
    neurons spread their variance, 0.42 at most for p = 37, 0.17 for p = 113, but up to 0.75
    for p = 11 where there are only 5 frequencies)."""
    need = max(2, int(np.ceil(min_share * len(top))))
    return sorted(k for k, c in clusters(top, frac, min_frac).items() if c >= need)


def neuron_summary(grids: Float[np.ndarray, "neuron p p"], min_frac: float = 0.5) -> dict:
    fr = freq_fractions(grids)
    top, frac = top_freqs(fr)
    dead = int((fr.sum(1) == 0).sum())
    live = fr.sum(1) > 0
    return {
        "n_neurons": int(len(grids)),
        "dead": dead,
        "top_freq": top.tolist(),
        "frac_explained": frac.round(6).tolist(),
        "mean_frac_explained": float(frac[live].mean()) if live.any() else 0.0,
        "clusters": {str(k): v for k, v in clusters(top, frac, min_frac).items()},
        "clustered": int(((frac >= min_frac) & (top > 0)).sum()),
        "cluster_min_frac": min_frac,
        "dominant_freqs": dominant_freqs(top, frac, min_frac),
    }
