"""Gradient norms per weight matrix over training (docs/analysis.md, gradient norms)."""

from __future__ import annotations

import numpy as np
from jaxtyping import Float, Int


def grad_norm_summary(epochs: Int[np.ndarray, " t"], norms: Float[np.ndarray, "matrix t"], matrices: list[str]) -> dict:
    """Per matrix: the norm at the last logged epoch, the largest norm and when it happened."""
    norms = np.asarray(norms, np.float64)
    out = {}
    for name, row in zip(matrices, norms):
        ok = np.isfinite(row)
        if not ok.any():
            continue
        i = int(np.nanargmax(np.where(ok, row, -np.inf)))
        last = int(np.flatnonzero(ok)[-1])
        out[name] = {"final": float(row[last]), "max": float(row[i]), "max_epoch": int(epochs[i])}
    return out
