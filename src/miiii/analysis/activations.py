"""A named activation cache over every input (TransformerLens hook names).

``run_with_cache(params, p)`` runs the model in eval mode on all p^2 samples and returns
the cache with a leading sample axis, so analyses read activations by name:
``cache["blocks.0.mlp.hook_post"]`` (p^2, 1, d_mlp) at ``=`` in the last block,
``cache["blocks.0.attn.hook_pattern"]`` (p^2, h, 1, 3), ``cache["hook_embed"]``, ...
Sample i is (x0, x1) = (i // p, i % p), so ``a.reshape(p, p, ...)`` is the (x0, x1) grid.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import model, tasks


def run_with_cache(params: dict[str, np.ndarray], p: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(logits (p^2, n_out), cache name -> (p^2, ...)) for ONE run's parameters."""
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    logits, cache = jax.jit(lambda pr, x: model.batched_forward(pr, x, with_cache=True))(
        jp, jnp.asarray(tasks.inputs(p)))
    return np.asarray(logits), {k: np.asarray(v) for k, v in cache.items()}


def last_block(params: dict[str, np.ndarray]) -> str:
    return f"blocks.{model.depth_of(params) - 1}."
