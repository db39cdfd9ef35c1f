"""Attention from ``=`` to the two digits (docs/analysis.md, attention), per head over the (x0, x1) grid."""

from __future__ import annotations

import numpy as np
from jaxtyping import Float


def attention_grids(pattern: Float[np.ndarray, "sample head 1 key"], p: int) -> Float[np.ndarray, "head key p p"]:
    """The last block's pattern (query ``=``) as per-head grids: [h, 0] to x0, [h, 1] to x1, [h, 2] to ``=``."""
    a = np.asarray(pattern)[:, :, 0, :]  # (p^2, h, 3)
    return a.transpose(1, 2, 0).reshape(a.shape[1], a.shape[2], p, p)


def attention_summary(grids: Float[np.ndarray, "head key p p"]) -> dict:
    """Mean attention per head to x0, x1 and ``=``; a head "reads" a digit when >= 0.75 of it goes there."""
    means = grids.mean((2, 3))
    reads = ["x0" if m[0] >= 0.75 else "x1" if m[1] >= 0.75 else "both" for m in means]
    return {"to_x0": means[:, 0].tolist(), "to_x1": means[:, 1].tolist(),
            "to_eq": means[:, 2].tolist(), "reads": reads}
