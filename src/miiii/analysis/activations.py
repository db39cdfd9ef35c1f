"""A named activation cache over every input (TransformerLens hook names).

``run_with_cache(params, p, readout="eq")`` runs the model in eval mode on all p^2 samples and
returns the cache with a leading sample axis, so analyses read activations by name:
``cache["blocks.0.mlp.hook_post"]`` (p^2, 1, d_mlp) at the readout position (``=``, or the
first token with ``readout="first"``) in the last block,
``cache["blocks.0.attn.hook_pattern"]`` (p^2, h, 1, 3), ``cache["hook_embed"]``, ...
Sample i is (x0, x1) = (i // p, i % p), so ``a.reshape(p, p, ...)`` is the (x0, x1) grid.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import model, tasks


@partial(jax.jit, static_argnames="at")
def _forward_all(params: dict[str, jax.Array], x: jax.Array, at: int) -> tuple[jax.Array, dict[str, jax.Array]]:
    # Jitted once at module level: a fresh lambda per call would compile every time (~0.5 s at
    # p = 23 against ~5 ms to run), and the analysis runs it at every checkpoint.
    return model.batched_forward(params, x, with_cache=True, readout=at)


def run_with_cache(params: dict[str, np.ndarray], p: int,
                   readout: str = "eq") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(logits (p^2, n_out), cache name -> (p^2, ...)) for ONE run's parameters."""
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    logits, cache = _forward_all(jp, jnp.asarray(tasks.inputs(p)), model.readout_position(readout))
    return np.asarray(logits), {k: np.asarray(v) for k, v in cache.items()}


def last_block(params: dict[str, np.ndarray]) -> str:
    return f"blocks.{model.depth_of(params) - 1}."
