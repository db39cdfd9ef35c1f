"""The transformer of docs/study.md (model), written for ONE example and batched with ``vmap``.

Parameters are a flat dict keyed by TransformerLens names (``W_E``, ``W_pos``,
``blocks.0.attn.W_Q``, ..., ``W_U``), so a checkpoint's tensor names are the field's names.
No biases, no layer norm (as in Nanda et al. 2023).

Two choices that matter for correctness and speed:

* Logits are read at the LAST position, the ``=`` token (the study's code read position 0).
* In the last block nothing after attention is computed for the other positions: the query
  of ``=`` attends to all three keys, and only that one residual vector goes on through the
  MLP and the unembedding. Earlier blocks (``depth > 1``) keep every position.

Initialisation (documented because results depend on it): every matrix is drawn from
N(0, 1/fan_in), fan_in being the size of the axis it is contracted over (d_model for W_E,
W_pos, W_Q, W_K, W_V, W_in, W_U; d_model = n_heads * d_head for W_O; d_mlp for W_out).
This is the scale of Nanda et al.'s ``randn / sqrt(d_model)`` for d_model-sized inputs.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .tasks import Task

Params = dict[str, Array]
Cache = dict[str, Array]


def param_shapes(d_vocab: int, d_model: int, n_heads: int, depth: int, n_out: int) -> dict[str, tuple[int, ...]]:
    d_head, d_mlp = d_model // n_heads, 4 * d_model
    shapes: dict[str, tuple[int, ...]] = {"W_E": (d_vocab, d_model), "W_pos": (3, d_model)}
    for layer in range(depth):
        b = f"blocks.{layer}."
        shapes |= {
            b + "attn.W_Q": (n_heads, d_model, d_head),
            b + "attn.W_K": (n_heads, d_model, d_head),
            b + "attn.W_V": (n_heads, d_model, d_head),
            b + "attn.W_O": (n_heads, d_head, d_model),
            b + "mlp.W_in": (d_model, d_mlp),
            b + "mlp.W_out": (d_mlp, d_model),
        }
    return shapes | {"W_U": (d_model, n_out)}


def _fan_in(name: str, shape: tuple[int, ...]) -> int:
    if name in ("W_E", "W_pos"):
        return shape[-1]
    if name.endswith("W_O"):
        return shape[0] * shape[1]
    return shape[-2]


INITS = ("fan_in", "study")


def init(key: PRNGKeyArray, task: Task, d_model: int, n_heads: int, depth: int, scheme: str = "fan_in") -> Params:
    """Parameters with TransformerLens names.

    ``fan_in``: every matrix N(0, 1/fan_in), so the residual stream starts at unit scale.
    ``study``: Glorot normal (JAX's ``glorot_normal``: truncated normal, variance
    2/(fan_in + fan_out), fans from the last two axes times the leading ones), as the study's
    code initialises its matrices; on the same shapes except W_U, which the study lays out as
    (primes, d_model, p) and miiii as one (d_model, sum q) block.
    """
    shapes = param_shapes(task.p + 1, d_model, n_heads, depth, task.n_out)
    keys = jax.random.split(key, len(shapes))
    if scheme == "study":
        glorot = jax.nn.initializers.glorot_normal()
        return {name: glorot(k, shape, jnp.float32) for k, (name, shape) in zip(keys, shapes.items())}
    if scheme != "fan_in":
        raise ValueError(f"init: expected one of {', '.join(INITS)}, got {scheme!r}")
    return {name: jax.random.normal(k, shape, jnp.float32) / math.sqrt(_fan_in(name, shape))
            for k, (name, shape) in zip(keys, shapes.items())}


def depth_of(params: Params) -> int:
    return sum(1 for k in params if k.endswith("attn.W_Q"))


def _threefry2x32(k0: Array, k1: Array, x0: Array, x1: Array) -> tuple[Array, Array]:
    """Threefry-2x32, 20 rounds (Salmon et al. 2011): JAX's default PRNG function, written out.

    Bit for bit ``jax.extend.random.threefry_2x32`` (tests/unit/test_model.py checks). JAX
    lowers its own on CPU as a rolled 5-iteration loop that copies the counters every
    iteration; with a key split per example, dropout cost 9 % of a 21-run quick-size step
    (13 % of one run's). Unrolled and drawn for the whole step at once, the rounds are
    elementwise integer work that XLA fuses with the comparison that makes the mask: 3 %.
    """
    rotations = ((13, 15, 26, 6), (17, 29, 16, 24))
    ks = (k0, k1, k0 ^ k1 ^ np.uint32(0x1BD11BDA))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for r in rotations[i % 2]:
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def dropout_masks(key: Array, rate: Array | float, depth: int, d_model: int,
                  n: int | None) -> list[Array]:
    """Keep masks (bool) of one training step's ``2 * depth`` dropout sites, one draw for all.

    Site shapes are those of ``forward``'s residuals: ``(n, 3, d_model)`` in blocks
    before the last, ``(n, d_model)`` in the last; without the leading ``n`` when ``n`` is
    None (``dropout_mask=batch``: one mask per step, shared by every example). Element ``i``
    of block ``l`` hashes the counter ``(i, l)`` with Threefry-2x32 under ``key`` (a raw
    ``uint32[2]`` key); the two output words decide the block's two sites (after attention,
    after the MLP). A word's top 24 bits, read as a uniform in [0, 1), are kept when below
    ``1 - rate``, as ``jax.random.bernoulli`` does with 23 bits: every element is an independent
    Bernoulli(1 - rate) draw, and the masks are a function of the key alone.
    """
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    key = key.astype(jnp.uint32)
    lead = () if n is None else (n,)
    keep_p = 1.0 - jnp.asarray(rate, jnp.float32)
    masks = []
    for layer in range(depth):
        shape = lead + ((d_model,) if layer == depth - 1 else (3, d_model))
        count = jax.lax.iota(jnp.uint32, int(np.prod(shape))).reshape(shape)
        words = _threefry2x32(key[0], key[1], count, jnp.full(shape, layer, jnp.uint32))
        masks += [(w >> np.uint32(8)).astype(jnp.float32) * np.float32(2.0 ** -24) < keep_p for w in words]
    return masks


def _dropout(x: Array, keep: Array | None, rate: Array | float) -> Array:
    return x if keep is None else jnp.where(keep, x / (1.0 - rate), 0.0)


def _embed_project(params: Params, x: Int[Array, "3"], W: Float[Array, "head d_model d_head"],
                   positions: slice | int) -> Float[Array, "head *pos d_head"]:
    """``(W_E[x] + W_pos) @ W`` at ``positions``, as ``W_E @ W`` gathered at the tokens.

    The table does not depend on ``x``, so under ``vmap`` over examples it is computed once:
    p + 1 projected rows instead of three per example (a third of a step's matmul work).
    """
    table = jnp.einsum("vd,hde->hve", params["W_E"], W)
    return table[:, x[positions]] + jnp.einsum("...d,hde->h...e", params["W_pos"][positions], W)


def forward(
    params: Params,
    x: Int[Array, "3"],
    masks: list[Array] | None = None,
    dropout: Array | float = 0.0,
    with_cache: bool = False,
    readout: int = -1,
) -> tuple[Float[Array, " n_out"], Cache]:
    """Logits at ``=`` for one example; ``masks`` given means training (dropout on).

    ``masks`` are the keep masks of the ``2 * depth`` dropout sites (after attention, after
    the MLP, block by block), as ``dropout_masks`` draws them: ``(3, d_model)`` in blocks
    before the last, ``(d_model,)`` in the last. Returns ``(logits, cache)``; the cache (empty
    unless ``with_cache``) holds activations under TransformerLens hook names. In the last
    block, positions are the one query ``=``, or the position ``readout`` names (0: the first
    token, where the study's code reads).
    """
    cache: Cache = {}
    keep = (lambda name, v: cache.__setitem__(name, v)) if with_cache else (lambda name, v: None)
    depth = depth_of(params)
    masks = [None] * (2 * depth) if masks is None else masks

    embed, pos = params["W_E"][x], params["W_pos"]
    keep("hook_embed", embed)
    keep("hook_pos_embed", pos)
    resid: Array = embed + pos  # (pos, d_model)
    for layer in range(depth):
        b = f"blocks.{layer}."
        last = layer == depth - 1
        # The last block carries the one query as a vector, with no size-1 axis: such an axis
        # gets layouts that make XLA's CPU backward transpose slowly. Hooks keep the axis.
        queries = readout if last else slice(None)
        hook = (lambda name, v, axis: keep(name, jnp.expand_dims(v, axis))) if last else (
            lambda name, v, axis: keep(name, v))
        W_Q, W_K, W_V, W_O = (params[b + f"attn.W_{m}"] for m in "QKVO")
        if layer == 0:  # the residual is still embed + pos: project the vocabulary, not the batch
            # Gathered, not sliced from ``resid``: the slice's gradient is a pad and a reduction
            # over a (batch, 3, d_model) tensor.
            q_in = params["W_E"][x[queries]] + pos[queries]
            q = _embed_project(params, x, W_Q, queries)
            k = _embed_project(params, x, W_K, slice(None))
            v = _embed_project(params, x, W_V, slice(None))
        else:
            q_in = resid[queries]
            q = jnp.einsum("...d,hde->h...e", q_in, W_Q)
            k = jnp.einsum("kd,hde->hke", resid, W_K)
            v = jnp.einsum("kd,hde->hke", resid, W_V)
        scores = jnp.einsum("h...e,hke->h...k", q, k) / math.sqrt(q.shape[-1])
        if not last:  # causal; the last query sees every key anyway
            n = resid.shape[0]
            scores = jnp.where(np.tril(np.ones((n, n), bool)), scores, -jnp.inf)
        pattern = jax.nn.softmax(scores, axis=-1)
        hook(b + "attn.hook_pattern", pattern, -2)
        z = jnp.einsum("h...k,hke->h...e", pattern, v)
        if last:  # one (n_heads * d_head)-long contraction: a matrix-vector product, not a batched one
            attn_out = z.reshape(-1) @ W_O.reshape(-1, W_O.shape[-1])
        else:
            attn_out = jnp.einsum("hpe,hed->pd", z, W_O)
        hook(b + "hook_attn_out", attn_out, 0)
        resid = _dropout(q_in + attn_out, masks[2 * layer], dropout)
        hook(b + "hook_resid_mid", resid, 0)
        pre = resid @ params[b + "mlp.W_in"]
        post = jax.nn.relu(pre)
        hook(b + "mlp.hook_pre", pre, 0)
        hook(b + "mlp.hook_post", post, 0)
        resid = _dropout(resid + post @ params[b + "mlp.W_out"], masks[2 * layer + 1], dropout)
        hook(b + "hook_resid_post", resid, 0)
    logits = resid @ params["W_U"]  # resid is the vector at "="
    return logits, cache


def subtask_logits(logits: Float[Array, "*batch n_out"], task: Task) -> Float[Array, "*batch subtask max_classes"]:
    """Each sub-task's slice of the logits, padded with -1e9 to the widest sub-task."""
    width = max(task.n_classes)
    idx = np.zeros((len(task.n_classes), width), np.int32)
    valid = np.zeros_like(idx, dtype=bool)
    for s, (off, n) in enumerate(zip(task.offsets, task.n_classes)):
        idx[s, :n] = off + np.arange(n)
        valid[s, :n] = True
    return jnp.where(valid, logits[..., idx], -1e9)


def stablemax_log_probs(z: Float[Array, "... k"]) -> Float[Array, "... k"]:
    """log StableMax (Prieto et al. 2025): s(x) = x + 1 for x >= 0, 1 / (1 - x) below, normalised
    over the classes. Unlike softmax it grows linearly, not exponentially, so scaling the logits
    cannot drive the loss of a correct prediction to a float's zero (softmax collapse)."""
    s = jnp.where(z >= 0, z + 1.0, 1.0 / (1.0 - jnp.minimum(z, 0.0)))
    return jnp.log(s) - jnp.log(s.sum(-1, keepdims=True))


def per_subtask_loss_acc(
    logits: Float[Array, "batch n_out"], y: Int[Array, "batch subtask"], task: Task, loss: str = "ce"
) -> tuple[Float[Array, "batch subtask"], Float[Array, "batch subtask"]]:
    """Cross-entropy divided by ln(classes) (a uniform guess costs 1), and correctness.
    ``loss="stablemax"``: the same with StableMax instead of softmax (a uniform guess still costs 1).

    The loss takes each sub-task's own slice (``split``, whose gradient is a concatenation):
    the padded layout of ``subtask_logits`` doubles the elements at p = 113 and its gradient
    is a scatter, which made the loss cost more than the model at the study's size. That
    scatter-add (the transpose of ``take_along_axis`` on the padded array) also has only
    compile-time constants for operands in the training chunk (the targets are closed over
    and d loss / d nll is constant), so XLA constant-folded it, f32[6384, 29, 109], for over a
    second at p = 113 ("Constant folding an instruction is taking > 1s"). The target's term
    here is a one-hot from an iota comparison, so the backward is elementwise
    (tests/unit/test_model.py checks that the gradient has no scatter).

    Measured on a 2-core CPU against two other scatter-free forms (a dense segment-matmul
    log-sum-exp, and a custom VJP over the padded layout): they compile ~2 s faster at
    p = 113 but train 9% and 25% slower there, so the split slices stay.
    Accuracy, never differentiated, keeps the padded argmax (ties go to the first class).
    """
    logits = logits.astype(jnp.float32)
    pieces = jnp.split(logits, np.asarray(task.offsets[1:]), axis=-1)
    log_probs = stablemax_log_probs if loss == "stablemax" else partial(jax.nn.log_softmax, axis=-1)
    nll = jnp.stack([-(log_probs(z) * jax.nn.one_hot(y[..., s], z.shape[-1])).sum(-1)
                     for s, z in enumerate(pieces)], axis=-1)
    loss = nll / jnp.log(jnp.asarray(task.n_classes, jnp.float32))
    acc = (jnp.argmax(subtask_logits(logits, task), axis=-1) == y).astype(jnp.float32)
    return loss, acc


def batched_forward(params: Params, x: Int[Array, "batch 3"], with_cache: bool = False,
                    readout: int = -1) -> tuple[Array, Any]:
    """Deterministic (eval-mode) forward over a batch."""
    return jax.vmap(lambda xi: forward(params, xi, with_cache=with_cache, readout=readout))(x)


def readout_position(name: str) -> int:
    """The position logits are read at: ``eq`` (the ``=`` token) or ``first`` (the study's code)."""
    return {"eq": -1, "first": 0}[name]
