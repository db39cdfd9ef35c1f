"""GrokFast gradient filters (Lee et al. 2024) as optax transforms, and the optimiser chain.

GrokFast-EMA:  e_t = alpha * e_{t-1} + (1 - alpha) * g_t,   g^_t = g_t + lambda * e_t.
By default the EMA starts from the FIRST gradient (e_1 = g_1), as GrokFast's own code does;
``from_zero=True`` starts it from zeros (e_0 = 0, so e_1 = (1 - alpha) g_1), as the study's
code does, which damps the slow component for ~1/(1-alpha) steps (``ema_start=zero``).
With lambda = 0 the output is exactly g_t, so the chain is exactly AdamW.

GrokFast-MA:  g^_t = g_t + lambda * mean(g_{t-w+1} .. g_t), the mean over the gradients seen
so far while fewer than w have been seen (GrokFast's ``warmup=False`` behaviour).

GrokFast-EMA3 (three bands; the study's future work: "modify GrokFast to assume a third
stochastic component"): a slow EMA e (``alpha``) and a middle one m (``alpha_mid`` < ``alpha``,
a shorter memory), both started like GrokFast-EMA's. The gradient splits into a slow band e, a
middle band m - e and a fast band g - m, and
    g^_t = g_t + lambda * e_t + lambda_mid * (m_t - e_t),
so ``lambda_mid`` > 0 amplifies the middle band, < 0 damps it (-1 removes it), and 0 is
GrokFast-EMA exactly.

``lambda``, ``alpha`` (and ``lambda_mid``, ``alpha_mid``) may be traced arrays: a multi-run
vmaps over them.

Grokking accelerators (docs/accelerators.md), each an optax transform or optax's own:

* ⊥Grad (Prieto et al. 2025, "Grokking at the edge of numerical stability"): each weight's
  gradient loses ``strength`` times its component along the weight,
  g <- g - strength * (<g, w> / <w, w>) w, per tensor, before any filter. With strength 1 the
  step cannot grow the weights along themselves (the naive loss minimisation that scales logits).
* Muon (``optax.contrib.muon``): the hidden matrices (attention W_Q, W_K, W_V, W_O per head,
  and W_in, W_out) get the orthogonalised momentum step; W_E, W_pos and W_U get the transform's
  own Adam branch (b1 0.9, b2 0.98, the same weight decay; Nesterov, like Muon's momentum).
  ``consistent_rms=0.2`` scales Muon's steps to AdamW's RMS so that one ``lr`` serves both.
* Linear learning-rate warm-up over ``warmup`` steps: lr * min(1, (step + 1) / warmup), and a
  cosine decay of the share ``decay`` of the lr to 0 at step ``total``:
  lr_t = lr * warm_t * ((1 - decay) + decay * (1 + cos(pi * min(t, total) / total)) / 2).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array


def _starts(count: Array, from_zero: bool) -> Array:
    """Whether this step starts an EMA from the gradient itself (the first step, unless from zero)."""
    return jnp.logical_and(count == 0, not from_zero)


def _ema_step(ema: optax.Updates, g: optax.Updates, alpha: float | Array, first: Array) -> optax.Updates:
    return jax.tree.map(lambda e, x: jnp.where(first, x, alpha * e + (1 - alpha) * x), ema, g)


class EmaState(NamedTuple):
    count: Array  # int32 scalar: gradients seen so far
    ema: optax.Updates


def grokfast_ema(lamb: float | Array, alpha: float | Array, from_zero: bool = False) -> optax.GradientTransformation:
    def init(params: optax.Params) -> EmaState:
        return EmaState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update(updates: optax.Updates, state: EmaState, params: optax.Params | None = None):
        del params
        ema = _ema_step(state.ema, updates, alpha, _starts(state.count, from_zero))
        out = jax.tree.map(lambda g, e: g + lamb * e, updates, ema)
        return out, EmaState(state.count + 1, ema)

    return optax.GradientTransformation(init, update)


class Ema3State(NamedTuple):
    count: Array  # int32 scalar
    slow: optax.Updates  # e: the EMA of alpha
    mid: optax.Updates  # m: the EMA of alpha_mid


def grokfast_ema3(lamb: float | Array, alpha: float | Array, lamb_mid: float | Array, alpha_mid: float | Array,
                  from_zero: bool = False) -> optax.GradientTransformation:
    """GrokFast with a third band (module doc): g + lamb * e + lamb_mid * (m - e)."""

    def init(params: optax.Params) -> Ema3State:
        zeros = lambda: jax.tree.map(jnp.zeros_like, params)  # noqa: E731
        return Ema3State(jnp.zeros([], jnp.int32), zeros(), zeros())

    def update(updates: optax.Updates, state: Ema3State, params: optax.Params | None = None):
        del params
        first = _starts(state.count, from_zero)
        slow = _ema_step(state.slow, updates, alpha, first)
        mid = _ema_step(state.mid, updates, alpha_mid, first)
        out = jax.tree.map(lambda g, e, m: g + lamb * e + lamb_mid * (m - e), updates, slow, mid)
        return out, Ema3State(state.count + 1, slow, mid)

    return optax.GradientTransformation(init, update)


class MaState(NamedTuple):
    count: Array  # int32 scalar
    window: optax.Updates  # each leaf has a leading axis of size w: a ring buffer


def grokfast_ma(lamb: float | Array, window: int) -> optax.GradientTransformation:
    def init(params: optax.Params) -> MaState:
        return MaState(jnp.zeros([], jnp.int32),
                       jax.tree.map(lambda p: jnp.zeros((window,) + p.shape, p.dtype), params))

    def update(updates: optax.Updates, state: MaState, params: optax.Params | None = None):
        del params
        slot = state.count % window
        buf = jax.tree.map(lambda b, g: b.at[slot].set(g), state.window, updates)
        seen = jnp.minimum(state.count + 1, window).astype(jnp.float32)
        out = jax.tree.map(lambda g, b: g + lamb * (b.sum(0) / seen), updates, buf)
        return out, MaState(state.count + 1, buf)

    return optax.GradientTransformation(init, update)


def perp_grad(strength: float | Array = 1.0, eps: float = 1e-30) -> optax.GradientTransformation:
    """⊥Grad: remove ``strength`` times each gradient's projection on its own weight (module doc)."""

    def update(updates: optax.Updates, state: optax.EmptyState, params: optax.Params | None = None):
        if params is None:
            raise ValueError("perp_grad needs the parameters")

        def one(g: Array, w: Array) -> Array:
            return g - strength * (jnp.vdot(g, w) / (jnp.vdot(w, w) + eps)) * w

        return jax.tree.map(one, updates, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def warmup_schedule(lr: float | Array, warmup: int | Array, decay: float | Array = 0.0,
                    total: int = 1) -> optax.Schedule:
    """The module doc's schedule; ``warmup`` 0 and ``decay`` 0 are the constant lr. Both may be traced."""

    def f(count: Array) -> Array:
        warm = jnp.minimum(1.0, (count + 1) / jnp.maximum(warmup, 1))
        cos = 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(count, total) / max(total, 1)))
        return lr * warm * ((1 - decay) + decay * cos)

    return f


def muon_dims(params: optax.Params) -> dict:
    """Which axes Muon orthogonalises, per parameter: None (AdamW) for W_E, W_pos and W_U."""
    from optax.contrib import MuonDimensionNumbers

    hidden = ("attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O", "mlp.W_in", "mlp.W_out")
    # the last two axes are (in, out); the attention's leading head axis is a batch of matrices
    return {k: MuonDimensionNumbers(reduction_axis=v.ndim - 2, output_axis=v.ndim - 1) if k.endswith(hidden) else None
            for k, v in params.items()}


def make_optimizer(
    filter: str, lr: float | Array, weight_decay: float | Array, lamb: float | Array,
    alpha: float | Array, window: int = 100, ema_start: str = "first", optimizer: str = "adamw",
    grad_perp: float | Array | None = None, warmup: int | Array | None = None,
    lr_decay: float | Array = 0.0, total: int = 1, lamb_mid: float | Array = 0.0, alpha_mid: float | Array = 0.9,
) -> optax.GradientTransformation:
    """The study's optimiser: GrokFast filter, then AdamW (beta1 0.9, beta2 0.98); with the
    accelerators (module doc): ⊥Grad before the filter, Muon instead of AdamW, a warm-up.

    ``grad_perp`` / ``warmup`` None leave the transform or the schedule out of the program (a
    multi-run where no run uses them), so the optimiser state, and older checkpoints, keep the
    study's layout; ``warmup`` not None brings the schedule, with ``lr_decay`` over ``total`` steps."""
    schedule = lr if warmup is None else warmup_schedule(lr, warmup, lr_decay, total)
    if optimizer == "muon":
        step = optax.contrib.muon(schedule, weight_decay=weight_decay, adam_b1=0.9, adam_b2=0.98,
                                  adam_weight_decay=weight_decay, muon_weight_dimension_numbers=muon_dims,
                                  consistent_rms=0.2)
    else:
        step = optax.adamw(schedule, b1=0.9, b2=0.98, weight_decay=weight_decay)
    parts = [] if grad_perp is None else [perp_grad(grad_perp)]
    if filter == "ema":
        parts.append(grokfast_ema(lamb, alpha, ema_start == "zero"))
    elif filter == "ema3":
        parts.append(grokfast_ema3(lamb, alpha, lamb_mid, alpha_mid, ema_start == "zero"))
    elif filter == "ma":
        parts.append(grokfast_ma(lamb, window))
    return optax.chain(*parts, step) if parts else step
