"""The reference: one run of the same model and optimiser, written the plain way.

A Python loop over epochs calls a ``jax.jit``-ed step; the model computes EVERY position
through attention, the MLP and the unembedding, and reads the logits at the last one; the
loss gathers each sub-task's padded slice. This is how one would first write it; bench.py
times it beside ``miiii.train`` to measure what the optimised code buys.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from miiii import model, tasks
from miiii.config import Config
from miiii.optim import make_optimizer


def forward(params: dict, x: jax.Array, key: jax.Array, rate: float) -> jax.Array:
    """Logits at the last position for a batch ``x`` of shape (batch, 3); dropout on."""
    k1, k2 = jax.random.split(key)
    resid = params["W_E"][x] + params["W_pos"]  # (batch, pos, d)
    q = jnp.einsum("bpd,hde->bhpe", resid, params["blocks.0.attn.W_Q"])
    k = jnp.einsum("bpd,hde->bhpe", resid, params["blocks.0.attn.W_K"])
    v = jnp.einsum("bpd,hde->bhpe", resid, params["blocks.0.attn.W_V"])
    scores = jnp.einsum("bhqe,bhke->bhqk", q, k) / math.sqrt(q.shape[-1])
    scores = jnp.where(np.tril(np.ones((3, 3), bool)), scores, -jnp.inf)
    z = jnp.einsum("bhqk,bhke->bhqe", jax.nn.softmax(scores, -1), v)
    resid = resid + jnp.einsum("bhqe,hed->bqd", z, params["blocks.0.attn.W_O"])
    resid = jnp.where(jax.random.bernoulli(k1, 1 - rate, resid.shape), resid / (1 - rate), 0.0)
    resid = resid + jax.nn.relu(resid @ params["blocks.0.mlp.W_in"]) @ params["blocks.0.mlp.W_out"]
    resid = jnp.where(jax.random.bernoulli(k2, 1 - rate, resid.shape), resid / (1 - rate), 0.0)
    return (resid @ params["W_U"])[:, -1]


def make(cfg: Config):
    """Initial ``(params, opt_state, key)``, the data, and the jitted step."""
    assert cfg.depth == 1, "the reference is written for one block"
    task = tasks.task_of(cfg)
    train_idx, _ = tasks.split(cfg)
    x = jnp.asarray(tasks.inputs(cfg.p)[train_idx])
    y = jnp.asarray(tasks.targets(cfg)[train_idx])
    w = jnp.asarray(tasks.loss_weights(cfg), jnp.float32)
    init_key, key = jax.random.split(jax.random.PRNGKey(cfg.seed))
    params = model.init(init_key, task, cfg.d_model, cfg.n_heads, cfg.depth)
    opt = make_optimizer(cfg.filter, cfg.lr, cfg.weight_decay, cfg.lambda_, cfg.alpha, cfg.window)
    log_n = jnp.log(jnp.asarray(task.n_classes, jnp.float32))

    def loss_fn(params, key):
        z = model.subtask_logits(forward(params, x, key, cfg.dropout), task)
        nll = -jnp.take_along_axis(jax.nn.log_softmax(z, -1), y[..., None], -1)[..., 0]
        return ((nll / log_n).mean(0) * w).sum() / w.sum()

    @jax.jit
    def step(params, opt_state, key):
        key, sub = jax.random.split(key)
        loss, grads = jax.value_and_grad(loss_fn)(params, sub)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, key, loss

    return (params, opt.init(params), key), step


def train(state, step, epochs: int):
    """The per-epoch Python loop; the loss stays on the device."""
    params, opt_state, key = state
    for _ in range(epochs):
        params, opt_state, key, loss = step(params, opt_state, key)
    return params, opt_state, key
