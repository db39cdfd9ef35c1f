"""Singular values of the token embeddings W_E (docs/analysis.md, token-embedding SVD).

"Variance" here is the squared singular value of the uncentred W_E[:p] (tokens only, the
``=`` row left out), as in Nanda et al.'s analysis: the share of the matrix's energy that
each singular direction holds. ``components_for(0.5)`` is the smallest number of top
singular values whose squares add up to at least half of the total.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float


def singular_values(w: Float[np.ndarray, "p d"]) -> Float[np.ndarray, " k"]:
    return np.linalg.svd(np.asarray(w, np.float64), compute_uv=False)


def components_for(s: Float[np.ndarray, " k"], fraction: float) -> int:
    """Fewest top singular values holding ``fraction`` of sum(s^2)."""
    e = np.sort(np.asarray(s, np.float64) ** 2)[::-1]
    if e.sum() <= 0:
        return 0
    cum = np.cumsum(e) / e.sum()
    return int(np.searchsorted(cum, fraction - 1e-12) + 1)


def embedding_svd(w: Float[np.ndarray, "p d"], top: int = 4) -> dict:
    """Singular values, components for 50 % / 90 % of the variance, top left singular vectors.

    The top vectors are over the token axis (length p); their sign is fixed so that the
    largest-magnitude entry is positive (SVD signs are arbitrary).
    """
    u, s, _ = np.linalg.svd(np.asarray(w, np.float64), full_matrices=False)
    vecs = u[:, :top].T
    idx = np.abs(vecs).argmax(1)
    vecs = vecs * np.sign(vecs[np.arange(len(vecs)), idx])[:, None]
    e = s**2
    return {
        "singular_values": s.tolist(),
        "explained": (e / e.sum()).tolist() if e.sum() > 0 else [0.0] * len(s),
        "n50": components_for(s, 0.5),
        "n90": components_for(s, 0.9),
        "top_vectors": vecs.tolist(),
    }
