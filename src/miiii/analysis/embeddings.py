"""Positional embeddings (docs/analysis.md, positional embeddings): are the two input positions alike?

A commutative task (``nanda``) wants x0 and x1 read the same way, so their positional
embeddings correlate (study: 0.95); ``miiii`` gives the two digits different roles
(study: -0.64).
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float


def pearson(a: Float[np.ndarray, " d"], b: Float[np.ndarray, " d"]) -> float:
    a = np.asarray(a, np.float64) - np.mean(a)
    b = np.asarray(b, np.float64) - np.mean(b)
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def pos_emb_corr(w_pos: Float[np.ndarray, "pos d"]) -> float:
    """Pearson correlation of the positional embeddings of x0 (row 0) and x1 (row 1)."""
    return pearson(w_pos[0], w_pos[1])
