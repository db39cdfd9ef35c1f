"""Analyses of trained models: pure functions, arrays in, numbers out (``docs/analysis.md``).

fourier (W_E in the real Fourier basis, key frequencies), svd, embeddings (positional
correlation), neurons, attention, gradients, activations (a named cache over all inputs),
subtasks and subtask_features (one basis per prime? per-sub-task W_E, neurons and progress
measures, docs/per-subtask.md), summary (all of them for one model's parameters). Reading and writing run directories is
``miiii.pipelines``'s job.
"""

from __future__ import annotations

import warnings
from typing import Any

from . import activations, attention, embeddings, fourier, gradients, neurons, subtask_features, subtasks, summary, svd
from .summary import analyze_params

__all__ = ["activations", "attention", "analyze_params", "embeddings", "fourier", "gradients", "neurons",
           "subtask_features", "subtasks", "summary", "svd"]

_MOVED = {"analyze_run", "write_analysis", "compute_run"}


def __getattr__(name: str) -> Any:
    # Deprecated since 0.2: the run-directory edge moved to miiii.pipelines (this package is pure).
    if name in _MOVED:
        warnings.warn(f"miiii.analysis.{name} moved to miiii.pipelines.{name}", DeprecationWarning, stacklevel=2)
        from .. import pipelines
        return getattr(pipelines, name)
    raise AttributeError(name)
