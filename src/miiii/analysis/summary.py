"""Every analysis of one model's parameters at once (pure: parameters in, numbers out).

``analyze_params`` is what ``analysis.json`` holds per run for the analysed checkpoint;
``reference`` measures untrained models of the same shape, the null several rules need.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .. import model, tasks
from ..config import Config
from ..measures import omega
from . import attention, embeddings, fourier, neurons, svd
from .activations import last_block, run_with_cache

N_REF = 4  # untrained models behind omega.reference_count


def reference(cfg: Config, n_ref: int = N_REF) -> tuple[np.ndarray, float]:
    """omega counts (spec rule) of ``n_ref`` untrained models shaped like ``cfg``'s, and the
    largest fraction of variance any of their neurons' top frequency explains."""
    task = tasks.task_of(cfg)
    counts, top_frac = [], 0.0
    for j in range(n_ref):
        params = model.init(jax.random.PRNGKey(10_000 + 97 * cfg.seed + j), task, cfg.d_model, cfg.n_heads, cfg.depth)
        grids = neuron_grids_of(params, cfg.p)
        counts.append(np.asarray(omega.active_counts(grids, cfg.omega_k)))
        top_frac = max(top_frac, float(neurons.freq_fractions(grids).max()))
    return np.stack(counts), top_frac


def neuron_grids_of(params: dict[str, np.ndarray], p: int) -> np.ndarray:
    _, cache = run_with_cache(params, p)
    return neurons.neuron_grids(cache[last_block(params) + "mlp.hook_post"][:, 0, :], p)


def analyze_params(params: dict[str, np.ndarray], cfg: Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """Numbers and figure arrays of one run's parameters (no run directory needed)."""
    p = cfg.p
    w_e = np.asarray(params["W_E"])[:p]
    _, cache = run_with_cache(params, p)
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


