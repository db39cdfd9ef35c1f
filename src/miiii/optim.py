"""GrokFast gradient filters (Lee et al. 2024) as optax transforms, and the optimiser chain.

GrokFast-EMA:  e_t = alpha * e_{t-1} + (1 - alpha) * g_t,   g^_t = g_t + lambda * e_t.
By default the EMA starts from the FIRST gradient (e_1 = g_1), as GrokFast's own code does;
``from_zero=True`` starts it from zeros (e_0 = 0, so e_1 = (1 - alpha) g_1), as the study's
code does, which damps the slow component for ~1/(1-alpha) steps (``ema_start=zero``).
With lambda = 0 the output is exactly g_t, so the chain is exactly AdamW.

GrokFast-MA:  g^_t = g_t + lambda * mean(g_{t-w+1} .. g_t), the mean over the gradients seen
so far while fewer than w have been seen (GrokFast's ``warmup=False`` behaviour).

``lambda`` and ``alpha`` may be traced arrays: a multi-run vmaps over them.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array


class EmaState(NamedTuple):
    count: Array  # int32 scalar: gradients seen so far
    ema: optax.Updates


def grokfast_ema(lamb: float | Array, alpha: float | Array, from_zero: bool = False) -> optax.GradientTransformation:
    def init(params: optax.Params) -> EmaState:
        return EmaState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update(updates: optax.Updates, state: EmaState, params: optax.Params | None = None):
        del params
        first = jnp.logical_and(state.count == 0, not from_zero)
        ema = jax.tree.map(lambda e, g: jnp.where(first, g, alpha * e + (1 - alpha) * g), state.ema, updates)
        out = jax.tree.map(lambda g, e: g + lamb * e, updates, ema)
        return out, EmaState(state.count + 1, ema)

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


def make_optimizer(
    filter: str, lr: float | Array, weight_decay: float | Array, lamb: float | Array,
    alpha: float | Array, window: int = 100, ema_start: str = "first",
) -> optax.GradientTransformation:
    """The study's optimiser: GrokFast filter, then AdamW (beta1 0.9, beta2 0.98)."""
    adamw = optax.adamw(lr, b1=0.9, b2=0.98, weight_decay=weight_decay)
    if filter == "none":
        return adamw
    grokfast = grokfast_ema(lamb, alpha, ema_start == "zero") if filter == "ema" else grokfast_ma(lamb, window)
    return optax.chain(grokfast, adamw)
