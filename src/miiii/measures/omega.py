"""Active frequencies of the MLP neurons, omega: one definition per name (``DEFINITIONS``).

``count`` is the study's |omega|; ``count_calibrated`` compares the same per-frequency neuron
counts with untrained models of the same shape, because at small p the study's rule already
marks every frequency in a random model (``saturated``). The study's rule, exactly:

1. Each neuron's activation over the input grid is a p x p image A[x0, x1] (read at ``=``).
2. Its spectrum is |DFT2(A)|, the magnitudes of the p x p two-dimensional DFT components
   (k0, k1); the constant component (0, 0) is excluded.
3. A component is *active* when its magnitude exceeds the mean + k standard deviations of
   that neuron's (non-constant) magnitudes; k = 2 by default.
4. An active component (k0, k1) makes the frequencies fold(k0) and fold(k1) active in that
   neuron, fold(k) = min(k, p - k) in 1 .. p // 2 (0 — a constant direction — is dropped).
5. ``counts[f]`` is the number of neurons in which frequency f is active; omega is the set of
   frequencies active in at least one neuron, and |omega| its size.

A neuron that never varies (dead, or constant) has no active frequency.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int


def fold_table(p: int) -> np.ndarray:
    k = np.arange(p)
    return np.minimum(k, p - k)


def active_counts(grids: Float[Array, "neuron p p"], k: float = 2.0) -> Int[Array, " freq"]:
    """counts[f] for f = 0 .. p // 2 (counts[0] is always 0): neurons where f is active."""
    p = grids.shape[-1]
    full = jnp.abs(jnp.fft.fft2(grids)).reshape(grids.shape[0], -1)
    dc, mags = full[:, :1], full.at[:, 0].set(0.0)
    n = p * p - 1  # statistics over the non-constant components only
    mean = mags.sum(-1, keepdims=True) / n
    var = (((mags - mean) ** 2).sum(-1, keepdims=True) - mean**2) / n  # minus the zeroed (0,0)
    std = jnp.sqrt(jnp.maximum(var, 0.0))
    # A neuron whose variation is float noise around a constant (or zero) has no frequency.
    varies = (mags**2).sum(-1, keepdims=True) > 1e-10 * (dc**2 + 1e-30)
    active = (mags > mean + k * std) & varies
    active = active.reshape(-1, p, p)
    fold = fold_table(p)
    n_freq = p // 2 + 1
    onehot = np.zeros((p, n_freq), np.float32)
    onehot[np.arange(p), fold] = 1.0
    # frequency f active in a neuron if any active component has fold(k0) == f or fold(k1) == f
    by_k0 = jnp.einsum("nab,af->nf", active.astype(jnp.float32), onehot) > 0
    by_k1 = jnp.einsum("nab,bf->nf", active.astype(jnp.float32), onehot) > 0
    per_neuron = (by_k0 | by_k1).at[:, 0].set(False)
    return per_neuron.sum(0).astype(jnp.int32)


def omega_size(counts: Int[Array, "... freq"]) -> Int[Array, "..."]:
    return (counts > 0).sum(-1)


DEFINITIONS = {
    "count": "the study's |omega|: frequencies active (a 2-D DFT magnitude of the neuron's p x p grid above "
             "mean + k std of its spectrum) in at least one neuron",
    "count_calibrated": "frequencies active, by the study's per-neuron rule, in more neurons than any frequency "
                        "is in any of the untrained models of the same shape (threshold = that maximum)",
    "count_dominant": "frequencies that are the top frequency (explaining >= dominant_min_frac of the variance) "
                      "of at least max(2, 1 %) of the neurons, at checkpoints only",
    "saturated": "the study's rule already marks >= 90 % of the frequencies in untrained models: |omega| "
                 "cannot rise at this p and its course says nothing",
}
SATURATED = 0.9


def calibrated_threshold(null_counts: Int[np.ndarray, "model freq"]) -> int:
    """The most neurons any frequency (>= 1) is active in, over untrained models."""
    return int(np.asarray(null_counts)[:, 1:].max(initial=0))


def calibrated_count(counts: Int[np.ndarray, "time freq"], threshold: int) -> Int[np.ndarray, " time"]:
    """Per logged epoch: frequencies active in more neurons than ``threshold``."""
    return (np.asarray(counts)[:, 1:] > threshold).sum(-1)


def saturated(null_counts: Int[np.ndarray, "model freq"]) -> bool:
    """True when untrained models already have |omega| >= SATURATED of the frequencies."""
    c = np.asarray(null_counts)[:, 1:]
    return bool(c.shape[1] and ((c > 0).sum(-1) >= SATURATED * c.shape[1]).all())
