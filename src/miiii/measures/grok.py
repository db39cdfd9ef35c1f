"""Training curves (SPEC section 5.1): when does each sub-task grok?"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float, Int


def grok_epoch(epochs: Int[np.ndarray, " t"], acc: Float[np.ndarray, " t"], threshold: float = 0.99) -> int | None:
    """The first logged epoch with accuracy >= threshold that never falls below it afterwards.

    ``None`` when the last logged accuracy is below the threshold (never grokked).
    """
    epochs, acc = np.asarray(epochs), np.asarray(acc)
    order = np.argsort(epochs, kind="stable")
    epochs, acc = epochs[order], acc[order]
    below = np.flatnonzero(~(acc >= threshold))  # NaN counts as below
    start = 0 if below.size == 0 else below[-1] + 1
    return int(epochs[start]) if start < len(epochs) else None


def grok_epochs(epochs: Int[np.ndarray, " t"], acc: Float[np.ndarray, "t subtask"], threshold: float = 0.99) -> list[int | None]:
    return [grok_epoch(epochs, acc[:, s], threshold) for s in range(acc.shape[1])]


def grok_order(subtasks: list[int], groks: list[int | None]) -> list[list[int]]:
    """Sub-tasks grouped by grok epoch, earliest first (ties grouped); never-grokked left out."""
    by: dict[int, list[int]] = {}
    for q, g in zip(subtasks, groks):
        if g is not None:
            by.setdefault(int(g), []).append(int(q))
    return [by[e] for e in sorted(by)]
