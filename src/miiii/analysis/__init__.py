"""Analyses of trained models and runs (SPEC section 5): pure functions, one module per idea.

fourier (W_E in the real Fourier basis, key frequencies), svd, embeddings (positional
correlation), neurons, attention, omega (active frequencies), curves (grok epochs),
gradients, activations (named cache over all inputs). ``runs`` is the I/O edge:
``analyze_run(run_dir, epoch=None, run=None) -> dict`` and ``write_analysis(...)``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["analyze_run", "write_analysis", "compute_run", "analyze_params"]


def __getattr__(name: str) -> Any:
    # Lazy: training imports analysis.omega and must not pay for the plotting edge.
    if name in __all__:
        from . import runs
        return getattr(runs, name)
    raise AttributeError(name)
