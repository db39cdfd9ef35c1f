"""Every analysis of one model's parameters at once (pure: parameters in, numbers out).

``analyze_params`` is what ``analysis.json`` holds per run for the analysed checkpoint;
``subtask_params`` adds the per-sub-task analysis (``subtasks.per_subtask``) where the task has one;
``reference`` measures untrained models of the same shape, the null several rules need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from .. import model, tasks
from ..config import Config
from ..measures import omega
from . import attention, embeddings, fourier, neurons, subtasks, svd
from . import subtask_features as sf
from .activations import last_block, run_with_cache

N_REF = 4  # untrained models behind omega.reference_count


def reference_shape(cfg: Config) -> tuple[int, ...]:
    """What ``reference`` depends on: the shapes, omega's k, the initialisation and the readout."""
    return (cfg.p, tasks.task_of(cfg).n_out, cfg.d_model, cfg.n_heads, cfg.depth, cfg.omega_k, cfg.init,
            cfg.readout)


def reference(cfg: Config, n_ref: int = N_REF) -> tuple[np.ndarray, float]:
    """omega counts (spec rule) of ``n_ref`` untrained models shaped like ``cfg``'s, and the
    largest fraction of variance any of their neurons' top frequency explains.

    The null depends only on the shape (``reference_shape``): the untrained models' keys are
    ``PRNGKey(10_000 + j)`` for every run, so the runs of a run directory that share a shape share
    one reference, computed once (``pipelines.analyze``). Before, the keys also depended on the
    run's seed (10_000 + 97 seed + j), so runs that differ only in seed got slightly different
    nulls and the reference was rebuilt for every run.
    """
    task = tasks.task_of(cfg)
    counts, top_frac = [], 0.0
    for j in range(n_ref):
        params = model.init(jax.random.PRNGKey(10_000 + j), task, cfg.d_model, cfg.n_heads, cfg.depth, cfg.init)
        grids = neuron_grids_of(params, cfg.p, cfg.readout)
        counts.append(np.asarray(omega.active_counts(grids, cfg.omega_k)))
        top_frac = max(top_frac, float(neurons.freq_fractions(grids).max()))
    return np.stack(counts), top_frac


def neuron_grids_of(params: dict[str, np.ndarray], p: int, readout: str = "eq") -> np.ndarray:
    _, cache = run_with_cache(params, p, readout)
    return neurons.neuron_grids(cache[last_block(params) + "mlp.hook_post"][:, 0, :], p)


def analyze_params(params: dict[str, np.ndarray], cfg: Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """Numbers and figure arrays of one run's parameters (no run directory needed)."""
    p = cfg.p
    w_e = np.asarray(params["W_E"])[:p]
    _, cache = run_with_cache(params, p, cfg.readout)
    b = last_block(params)
    grids = neurons.neuron_grids(cache[b + "mlp.hook_post"][:, 0, :], p)
    att = attention.attention_grids(cache[b + "attn.hook_pattern"], p)
    nums = {
        "pos_emb_corr": embeddings.pos_emb_corr(np.asarray(params["W_pos"])),
        "svd": svd.embedding_svd(w_e),
        "fourier": fourier.embedding_fourier(w_e),
        "neurons": neurons.neuron_summary(grids),
        "attention": attention.attention_summary(att),
    }
    nums["fourier"]["n_key"] = len(nums["fourier"]["key_freqs"])
    return nums, {"W_pos": np.asarray(params["W_pos"]), "neuron_grids": grids, "attention": att,
                  "current_omega": np.asarray(omega.active_counts(grids, cfg.omega_k))}


def has_subtasks(cfg: Config) -> bool:
    """Whether ``subtasks.per_subtask`` applies: q classes per prime q < p (miiii, masked, basis)."""
    return cfg.task in ("miiii", "masked", "basis")


def subtask_params(params: dict[str, np.ndarray], cfg: Config) -> dict[str, dict[str, Any]] | None:
    """``subtasks.per_subtask`` of one run's parameters, or None where the task has no prime sub-tasks."""
    return subtasks.per_subtask(params, cfg) if has_subtasks(cfg) else None


def subtask_progress(per: dict[str, dict[str, Any]], cfg: Config, labels=None, train=None,
                     valid=None) -> Callable[[np.ndarray], dict[str, tuple[float, float]]]:
    """logits (p^2, n_out) -> {q: (restricted, excluded)}: Nanda et al.'s progress measures of every
    sub-task of ``per`` (``subtask_features.restricted_excluded``, full span, restricted on the
    validation split, excluded on the training split) with the key k's fixed to ``per``'s
    ``loss_ks``, i.e. those of the analysed checkpoint, as Nanda et al. fix theirs at the end of
    training. Each key span is computed once, so a checkpoint costs one projection per sub-task."""
    task, p = tasks.task_of(cfg), cfg.p
    labels = tasks.targets(cfg) if labels is None else np.asarray(labels)
    if train is None or valid is None:
        train, valid = tasks.split(cfg)
    parts = []
    for s, (q, off) in enumerate(zip(task.subtasks, task.offsets)):
        if str(q) in per:
            parts.append((str(q), off, q, labels[:, s], sf.key_span(p, q, per[str(q)]["loss_ks"])))

    def measure(logits: np.ndarray) -> dict[str, tuple[float, float]]:
        out = {}
        for name, off, q, y, u in parts:
            z = np.asarray(logits[:, off:off + q], np.float64)
            proj = u @ (u.T @ z)  # u is orthogonal to the constant, so P L = P (L - m)
            out[name] = (sf.cross_entropy((z.mean(0) + proj)[valid], y[valid]),
                         sf.cross_entropy((z - proj)[train], y[train]))
        return out

    return measure
